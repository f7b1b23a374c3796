"""The API's audit log: concurrent reads share one transaction, and each read waits for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

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
