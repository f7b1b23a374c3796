"""Every source topic, from its first record to the head, through the merge into a store.

The same decode and merge as the worker's, batch by batch, with the community stage folded
as it goes; nothing is published and nothing is dead-lettered (the worker did that the
first time round). "At the head" is decided per partition from the high watermark that
fetch responses carry, which the embedded broker reports exactly, never from ListOffsets,
which it under-reports.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from services.errors import BrokerError, StoreError
from services.merge.processor import Decoded, MergeProcessor, Message
from services.store.merge_store import STORE_ERRORS, ConcurrentWriteError

log = logging.getLogger(__name__)

_T = TypeVar("_T")
FOLD_EVERY_S = 2.0  # deltas are folded this often during a replay, and at the head
STORE_PATIENCE_S = 600.0  # a store down longer than this ends the rebuild (rerun it)

NewConsumer = Callable[[], KafkaConsumer]
Advance = Callable[[int], None]


@dataclass
class Tally:
    """What a replay has read so far."""

    events: int = 0
    rejected: int = 0
    reasons: dict[str, str] = field(default_factory=dict)  # one example per topic


class Replay:
    """Reads the source topics into ``processor``'s store; resumable at the head."""

    def __init__(self, processor: MergeProcessor, new_consumer: NewConsumer, batch_size: int):
        self._processor = processor
        self._new_consumer = new_consumer
        self._batch_size = batch_size
        self._consumer: KafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self.positions: dict[TopicPartition, int] = {}
        self.tally = Tally()

    def estimate(self) -> int | None:
        """About how many records the topics hold now (the embedded broker's answer is low:
        for the progress bar only), or None when the broker cannot say."""
        consumer = self._open()
        try:
            ends = consumer.end_offsets(self._partitions)
            starts = consumer.beginning_offsets(self._partitions)
        except KafkaError:
            return None
        return int(
            sum(max(0, ends[tp] - max(starts[tp], self.positions.get(tp, 0))) for tp in ends)
        )

    def to_head(self, advance: Advance | None = None) -> None:
        """Merge every record up to each partition's head, then fold every pending delta."""
        consumer = self._open()
        last_fold = time.monotonic()
        while True:
            try:
                fetched = consumer.poll(timeout_ms=200, max_records=self._batch_size)
            except KafkaError as exc:
                raise BrokerError(f"reading the source topics failed: {exc}") from exc
            messages = [
                Message(r.topic, r.partition, r.offset, r.key, r.value)
                for records in fetched.values()
                for r in records
            ]
            if messages:
                # The schema registry lives in the store's database: a restart is waited out.
                self._merge(_until_done(self._processor.decode, messages))
                for m in messages:
                    self.positions[TopicPartition(m.topic, m.partition)] = m.offset + 1
                if advance is not None:
                    advance(len(messages))
            if time.monotonic() - last_fold >= FOLD_EVERY_S:
                self._fold()
                last_fold = time.monotonic()
            if not messages and all(at_head(consumer, tp) for tp in self._partitions):
                break
        self.positions = {tp: consumer.position(tp) for tp in self._partitions}
        self._fold()

    def fresh(self) -> None:
        """Forget the high watermarks seen so far: the next ``to_head`` reads up to a head
        the broker reports after this call (a new consumer, at the same positions)."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def close(self) -> None:
        """Close the consumer."""
        self.fresh()

    def _open(self) -> KafkaConsumer:
        if self._consumer is not None:
            return self._consumer
        try:
            consumer = self._new_consumer()
            topics = self._processor.topics()
            self._partitions = [
                TopicPartition(topic, p)
                for topic in topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
        except KafkaError as exc:
            raise BrokerError(f"cannot read the source topics: {exc}") from exc
        missing = sorted(set(topics) - {tp.topic for tp in self._partitions})
        if missing:
            consumer.close()
            raise BrokerError(
                f"the broker has no topic {', '.join(missing)}: run `datong topics` "
                "(or start the hub once) against this cluster first"
            )
        consumer.assign(self._partitions)
        for tp in self._partitions:
            if tp in self.positions:
                consumer.seek(tp, self.positions[tp])
            else:
                consumer.seek_to_beginning(tp)
        self._consumer = consumer
        return consumer

    def _merge(self, decoded: Decoded) -> None:
        self.tally.events += len(decoded.messages)
        for message, reason in decoded.rejects:
            self.tally.rejected += 1
            self.tally.reasons.setdefault(message.topic, reason)
        _until_done(self._processor.merge, decoded)

    def _fold(self) -> None:
        while communities := _until_done(self._processor.pending_communities):
            _until_done(self._processor.fold, communities)


def at_head(consumer: KafkaConsumer, tp: TopicPartition) -> bool:
    highwater = consumer.highwater(tp)
    return highwater is not None and consumer.position(tp) >= highwater


def _until_done(call: Callable[..., _T], *args: object) -> _T:
    """Run a store call, retrying what a concurrent writer or a restarting store broke."""
    deadline = time.monotonic() + STORE_PATIENCE_S
    delay = 0.1
    while True:
        try:
            return call(*args)
        except ConcurrentWriteError as exc:
            log.info("%s (%s)", exc, exc.reason)
            continue
        except STORE_ERRORS as exc:
            if time.monotonic() > deadline:
                raise StoreError(
                    f"the rebuilt store stayed unwritable for {STORE_PATIENCE_S:.0f}s "
                    f"({type(exc).__name__}: {exc}); the live store is untouched: rerun the rebuild"
                ) from exc
            log.warning(
                "writing the rebuilt store failed (%s: %s); retrying in %.1fs",
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
                delay,
            )
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
