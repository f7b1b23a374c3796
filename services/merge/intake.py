"""Whole fetches from faust's consumer, queued for the merge instead of one event at a time.

faust stays the stream framework: it runs the worker, the group membership and its
rebalances, flow control, timers and offset commits. What it costs more than it gives on
this path is its per-event machinery: every record becomes a faust Event and travels
through a channel queue, a stream and ``take_events`` (measured: about 80 µs per record
for a bare agent, against about 20 µs for aiokafka alone; see the README's bench). The
merge works on batches anyway, so this consumer hands faust's fetches over whole.

The fetch wait is ours too: faust hard-codes 1,500 ms, and the embedded broker holds a
fetch open for most of it even when records arrive, so an idle hub would react that late.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, ClassVar, cast

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from services.merge.processor import Message


class Intake:
    """A bounded queue of consumed records: fetches go in whole, merges take what is there."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._records: deque[Message] = deque()
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def __len__(self) -> int:
        return len(self._records)

    async def put(self, messages: list[Message]) -> None:
        """Queue a fetch; waits while the queue is full (the consumer then fetches no more)."""
        while len(self._records) >= self._capacity:
            self._room.clear()
            await self._room.wait()
        self._records.extend(messages)
        self._arrived.set()

    async def take(self, limit: int, timeout_s: float | None = None) -> list[Message]:
        """Up to ``limit`` queued records, waiting for the first (empty after ``timeout_s``)."""
        if not self._records:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout_s)
            except TimeoutError:
                return []
        return self.take_now(limit)

    def take_now(self, limit: int) -> list[Message]:
        """Up to ``limit`` queued records, without waiting."""
        count = min(limit, len(self._records))
        taken = [self._records.popleft() for _ in range(count)]
        if len(self._records) < self._capacity:
            self._room.set()
        return taken

    def forget(self, partitions: Collection[TP]) -> None:
        """Drop queued records of partitions this worker no longer owns."""
        gone = {(tp.topic, tp.partition) for tp in partitions}
        kept = [m for m in self._records if (m.topic, m.partition) not in gone]
        self._records.clear()
        self._records.extend(kept)
        self._room.set()


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """faust's consumer thread with the fetch wait of ``MergeApp.fetch_wait_ms``."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka hands this to its fetcher when the consumer starts; faust offers no setting.
        consumer._fetch_max_wait_ms = cast(MergeApp, self.app).fetch_wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer, handing each fetch to the app's intake whole."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:
        intake = cast(MergeApp, self.app).intake
        while not (self.should_stop or fetcher.should_stop):
            records, active = await self._wait_next_records(timeout=1.0)
            if not records or self.should_stop:
                continue
            assigned = self.assignment()
            batch = [
                Message(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
                for tp, found in records.items()
                if tp in assigned and (active is None or tp in active)
                for r in found
            ]
            if batch:
                await intake.put(batch)

    async def commit_merged(self, offsets: Mapping[TP, int]) -> bool:
        """Commit the next offset to read of each partition (what the store has merged)."""
        return bool(await self._commit(offsets))


class _Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[Any] = _Consumer


async def _nothing_to_finish() -> None:
    return None


class MergeApp(faust.App):
    """A faust app whose consumer feeds an ``Intake`` with whole fetches."""

    def __init__(self, *args: Any, fetch_wait_ms: int, capacity: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_wait_ms = fetch_wait_ms
        self.intake = Intake(capacity)
        # Set by ``create_app``: ends the merge cleanly before faust stops (services/worker.py).
        self.finish_merging: Callable[[], Awaitable[None]] = _nothing_to_finish

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    async def commit_merged(self, offsets: Mapping[TP, int]) -> bool:
        """Commit offsets the view store has merged up to."""
        return await cast(_Consumer, self.consumer).commit_merged(offsets)
