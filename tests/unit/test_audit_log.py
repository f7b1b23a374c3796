"""The API's audit log: concurrent reads share one transaction, and each read waits for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import anyio
import pytest
from sqlalchemy.exc import OperationalError

from services.access.audit import ReadEntry
from services.api.audit_log import AuditLog
from services.api.errors import ApiError


def entry(n: int) -> ReadEntry:
    return ReadEntry("t", "token", "aud", "why", "alert", "row", f"k{n}", {}, 1, 200)


class SlowStore:
    """Writes in a thread, as the store does; the first write waits until released."""

    def __init__(self) -> None:
        self.transactions: list[list[str | None]] = []
        self.release = threading.Event()

    def __call__(self, entries: Sequence[ReadEntry]) -> None:
        if not self.transactions:
            self.release.wait(5)
        self.transactions.append([e.key for e in entries])


def test_reads_arriving_while_a_transaction_is_written_share_the_next_one() -> None:
    store = SlowStore()
    log = AuditLog(store)

    async def run() -> None:
        first = asyncio.create_task(log.record([entry(0)]))
        await asyncio.sleep(0.05)  # the first transaction is being written
        rest = [asyncio.create_task(log.record([entry(n)])) for n in range(1, 11)]
        await asyncio.sleep(0.05)
        assert not any(t.done() for t in [first, *rest])  # nobody answered before its commit
        store.release.set()
        await asyncio.gather(first, *rest)

    asyncio.run(run())
    assert store.transactions == [["k0"], [f"k{n}" for n in range(1, 11)]]


def test_a_read_whose_record_cannot_be_written_is_refused_with_503() -> None:
    def broken(_: Sequence[ReadEntry]) -> None:
        raise OperationalError("INSERT", {}, Exception("disk full"))

    log = AuditLog(broken)
    with pytest.raises(ApiError) as refused:
        asyncio.run(log.record([entry(0)]))
    assert refused.value.status_code == 503


class LoopReleasedStore:
    """A store whose write can only finish once the event loop has run a task that releases
    it: a write blocking the loop would never be released (and fails after a long wait)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.committed: list[str | None] = []

    def __call__(self, entries: Sequence[ReadEntry]) -> None:
        if not self.released.wait(30):
            raise AssertionError("the event loop was blocked while the record was written")
        self.committed += [e.key for e in entries]


def test_an_ending_stream_records_without_blocking_the_event_loop() -> None:
    store = LoopReleasedStore()
    log = AuditLog(store)

    async def run() -> None:
        async def release() -> None:
            store.released.set()

        releaser = asyncio.create_task(release())  # runs only if the loop is free
        await log.record_ending([entry(0)])
        assert store.committed == ["k0"]  # durable once it returns
        await releaser

    asyncio.run(run())


def test_a_cancelled_stream_is_closed_only_once_its_record_is_committed() -> None:
    store = SlowStore()
    log = AuditLog(store)
    closed: list[list[list[str | None]]] = []

    async def stream() -> None:
        try:
            await asyncio.Event().wait()  # streaming, until its client hangs up
        finally:
            await log.record_ending([entry(0)])
            closed.append(list(store.transactions))

    async def run() -> None:
        with anyio.CancelScope() as scope:  # as Starlette ends a response whose client left
            async with anyio.create_task_group() as group:
                group.start_soon(stream)
                await asyncio.sleep(0.05)
                scope.cancel()
                store.release.set()
        assert closed == [[["k0"]]]

    asyncio.run(run())
