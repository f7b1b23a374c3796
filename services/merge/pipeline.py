"""The worker's merge loop: decode the next batch while this one commits, publish from memory.

Three things overlap: the consumer keeps fetching into the intake, a decoder turns queued
records into view updates, and the merge thread commits one batch at a time. A batch is
whatever has arrived by the time the merge thread is free, up to the batch size: an idle
hub merges an event as soon as it arrives, a backlog merges in batches as large as allowed.
After each commit the changes go to the producer at once, offsets become committable, and
at most every fold interval the community stage folds the deltas batches left behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer
from faust.types import TP

from schemas.catalog import dlq_topic
from schemas.headers import DEAD_LETTER_PREFIX
from schemas.registry.errors import RegistryUnreachableError
from services.merge.intake import MergeApp
from services.merge.lag import Progress
from services.merge.processor import Decoded, MergeProcessor, Message, Outcome
from services.merge.publisher import ViewPublisher
from services.metrics import MergeMetrics
from services.store.merge_store import STORE_ERRORS, ConcurrentWriteError

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class Pipeline:
    """Runs batches through the processor and the publisher until cancelled."""

    def __init__(
        self,
        app: MergeApp,
        processor: MergeProcessor,
        publisher: ViewPublisher,
        metrics: MergeMetrics,
        *,
        batch_size: int,
        fold_interval_s: float,
    ) -> None:
        self._app = app
        self._processor = processor
        self._publisher = publisher
        self._metrics = metrics
        self._batch_size = batch_size
        self._fold_interval_s = fold_interval_s
        self._db = ThreadPoolExecutor(1, thread_name_prefix="datong-merge")
        self.progress = Progress()
        self._committable: dict[TP, int] = {}
        self._last_fold = 0.0
        self.producer: AIOKafkaProducer | None = None  # for dead letters, set once started
        self._stopping = False

    def request_stop(self) -> None:
        """End ``run`` after the batch in hand is committed and handed to the publisher."""
        self._stopping = True

    async def run(self) -> None:
        """Decode and merge until ``request_stop`` (or cancelled)."""
        ready: asyncio.Queue[Decoded] = asyncio.Queue(maxsize=1)
        decoder = asyncio.create_task(self._decode(ready))
        try:
            await self._merge(ready)
        finally:
            decoder.cancel()

    async def _decode(self, ready: asyncio.Queue[Decoded]) -> None:
        intake = self._app.intake
        while True:
            messages = await intake.take(self._batch_size)
            self.progress.taken((TP(m.topic, m.partition), m.offset) for m in messages)
            await ready.put(await self._decode_patiently(messages))

    async def _merge(self, ready: asyncio.Queue[Decoded]) -> None:
        decoded = await self._next(ready)
        while decoded is not None:
            outcome = await self._until_committed(self._processor.merge, decoded)
            # Published first, before anything else is awaited or decoded: handing the
            # changes over does not wait for the broker, and what follows (dead letters'
            # acknowledgements, decoding the next batch) would delay every subscriber.
            await self._publisher.publish(outcome)
            await self._committed(decoded)
            following = await self._ready_now(ready)
            if time.monotonic() - self._last_fold >= self._fold_interval_s:
                await self._fold()
            if self._stopping:
                # What was taken and not merged is not committed: the next owner reads it.
                return
            decoded = following if following is not None else await self._next(ready)

    async def _next(self, ready: asyncio.Queue[Decoded]) -> Decoded | None:
        """The next batch, folding whatever is pending each fold interval while idle; None
        once a stop is requested and nothing arrived."""
        while True:
            try:
                decoded = await asyncio.wait_for(ready.get(), self._fold_interval_s)
            except TimeoutError:
                if self._stopping:
                    return None
                await self._fold()  # idle: fold what other workers, or a stop, left behind
                continue
            return await self._grown(decoded, ready)

    async def _ready_now(self, ready: asyncio.Queue[Decoded]) -> Decoded | None:
        """The next batch if one is waiting already."""
        if not ready.empty():
            return await self._grown(ready.get_nowait(), ready)
        if len(self._app.intake):
            return await self._grown(await self._decoded(self._batch_size), ready)
        return None

    async def _grown(self, decoded: Decoded, ready: asyncio.Queue[Decoded]) -> Decoded:
        """``decoded``, with whatever else has arrived, up to the batch size."""
        while len(decoded.messages) < self._batch_size and not ready.empty():
            decoded.extend(ready.get_nowait())
        room = self._batch_size - len(decoded.messages)
        if room > 0 and len(self._app.intake):
            decoded.extend(await self._decoded(room))
        return decoded

    async def _decoded(self, limit: int) -> Decoded:
        messages = self._app.intake.take_now(limit)
        self.progress.taken((TP(m.topic, m.partition), m.offset) for m in messages)
        return await self._decode_patiently(messages)

    async def _decode_patiently(self, messages: list[Message]) -> Decoded:
        """Decode ``messages``, waiting out a schema registry that cannot be reached.

        A writer's schema is read from the registry the first time its id is seen; while the
        registry (or the database it lives in) is down, the events are not bad, and sending
        them to their dead-letter topic would lose them: the batch is decoded again, with
        the same backoff as a failed write, each wait counted as a ``registry`` retry.
        """
        delay = 0.1
        while True:
            try:
                return self._processor.decode(messages)
            except RegistryUnreachableError as exc:
                self._metrics.retries.labels("registry").inc()
                log.error("%s; decoding the batch again in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _committed(self, decoded: Decoded) -> None:
        """A batch is in the view store: its rejects go to dead letters, its offsets may go."""
        if decoded.rejects:
            await self._dead_letter(decoded.rejects)
        positions = _positions(decoded.messages)
        self.progress.done(positions)
        for tp, offset in positions:
            self._committable[tp] = max(self._committable.get(tp, 0), offset + 1)

    async def _fold(self) -> None:
        self._last_fold = time.monotonic()
        outcome = await self._until_committed(self._fold_pending)
        if outcome is not None:
            await self._publisher.publish(outcome)
        if self._processor.refresh_due():
            # What depends on the time alone (an epidemic's test window) changes with no event.
            outcome = await self._until_committed(self._processor.refresh)
            if outcome is not None:
                await self._publisher.publish(outcome)

    def _fold_pending(self) -> Outcome | None:
        communities = self._processor.pending_communities()
        return self._processor.fold(communities) if communities else None

    async def _until_committed(self, call: Callable[..., _T], *args: Any) -> _T:
        """Run ``call`` in the merge thread until it commits.

        Offsets are committed only after the view store's commit, so giving up here would
        lose the batch's events: a failure is retried (an unexpected one loudly), each
        retry counted in ``datong_merge_retries_total`` by its reason.
        """
        delay = 0.1
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await loop.run_in_executor(self._db, call, *args)
            except ConcurrentWriteError as exc:
                self._metrics.retries.labels(exc.reason).inc()
                log.warning("%s (%s)", exc, exc.reason)
                continue
            except STORE_ERRORS as exc:
                self._metrics.retries.labels("database").inc()
                log.error(
                    "view store write failed (%s: %s); retrying in %.1fs",
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                    delay,
                )
            except Exception:
                self._metrics.retries.labels("error").inc()
                log.exception("merging a batch failed; retrying it in %.1fs", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def commit_offsets(self, partitions: set[TP] | None = None) -> None:
        """Commit the offsets merged so far (of ``partitions`` only, when given)."""
        offsets = {
            tp: offset
            for tp, offset in self._committable.items()
            if partitions is None or tp in partitions
        }
        if not offsets:
            return
        for tp in offsets:
            self._committable.pop(tp, None)
        if not await self._app.commit_merged(offsets):
            log.info("offsets of %d partitions not committed (rebalancing)", len(offsets))

    def forget(self, partitions: set[TP]) -> None:
        """Partitions revoked: their queued records and progress are another worker's now."""
        self._app.intake.forget(partitions)
        self.progress.forget(partitions)

    async def _dead_letter(self, rejects: list[tuple[Message, str]]) -> None:
        assert self.producer is not None
        deliveries = []
        for message, reason in rejects:
            department = message.topic.split(".")[1] if message.topic.count(".") >= 2 else "?"
            headers = [
                (DEAD_LETTER_PREFIX + "reason", reason.encode()),
                (DEAD_LETTER_PREFIX + "code", b"undecodable"),
                (DEAD_LETTER_PREFIX + "source", message.topic.encode()),
                (DEAD_LETTER_PREFIX + "position", f"{message.partition}:{message.offset}".encode()),
            ]
            deliveries.append(
                await self.producer.send(
                    dlq_topic(department), value=message.value, key=message.key, headers=headers
                )
            )
            self._metrics.events.labels("-", department, "rejected").inc()
            self._metrics.dead_letters.labels(department, "undecodable").inc()
            log.warning(
                "dead-lettered %s[%d]@%d: %s",
                message.topic,
                message.partition,
                message.offset,
                reason,
            )
        await asyncio.gather(*deliveries)

    def close(self) -> None:
        """Stop the merge thread."""
        self._db.shutdown(wait=True)


def _positions(messages: list[Message]) -> list[tuple[TP, int]]:
    """The newest offset of each partition among ``messages``."""
    newest: dict[TP, int] = {}
    for m in messages:
        tp = TP(m.topic, m.partition)
        if m.offset > newest.get(tp, -1):
            newest[tp] = m.offset
    return list(newest.items())
