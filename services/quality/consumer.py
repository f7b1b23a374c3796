"""The feed quality consumer: every department's source, dead-letter and parked-notice topics
counted into the view store's daily tallies, each record once.

A consumer of its own, apart from the merge worker: the merge's hot path is benchmarked, and
dead letters and notices are not the merge's input anyway. It runs in a consumer group, so
more copies share the partitions. Its offsets are kept in the view store with the tallies,
in the batch's transaction (``stored.add_batch``), never committed to Kafka: on an
assignment each partition is sought to its stored offset, and a batch that another copy
counted first is refused and read again from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

import sqlalchemy as sa
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.catalog import Catalog, dlq_topic, parked_topic
from schemas.serde import Serde
from services.errors import BrokerError
from services.metrics import QualityMetrics
from services.quality.counting import Counted, Counter, Seen
from services.quality.stored import Span, add_batch, stored_offsets

log = logging.getLogger(__name__)
POLL_MS = 500


def quality_topics(catalog: Catalog) -> list[str]:
    """Every topic a feed's scorecard is counted from."""
    departments = catalog.departments()
    return sorted(
        [c.topic for c in catalog.sources()]
        + [dlq_topic(d) for d in departments]
        + [parked_topic(d) for d in departments]
    )


class QualityConsumer:
    """Counts batches of the feeds' topics into the view store."""

    def __init__(
        self,
        engine: sa.Engine,
        serde: Serde,
        metrics: QualityMetrics,
        consumer: KafkaConsumer,
        batch_size: int = 1000,
    ) -> None:
        self._engine = engine
        self._metrics = metrics
        self._consumer = consumer
        self._batch_size = batch_size
        self._counter = Counter(serde.catalog, serde.decode)
        self._topics = quality_topics(serde.catalog)
        # Per assigned partition, the offset this consumer counts next (None: from the
        # beginning, nothing stored yet).
        self._next: dict[TopicPartition, int | None] = {}
        consumer.subscribe(self._topics, listener=_Rewind(self))

    def rewind(self, partitions: Collection[TopicPartition]) -> None:
        """Seek ``partitions`` to their stored offsets (the beginning when none is stored)."""
        stored = stored_offsets(self._engine, {tp.topic for tp in partitions})
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition))
            self._next[tp] = offset
            if offset is None:
                self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, offset)

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Partitions handed to another consumer: theirs to count now."""
        for tp in partitions:
            self._next.pop(tp, None)

    def step(self) -> int:
        """Poll once and count what came; return how many records were counted."""
        try:
            polled = self._consumer.poll(timeout_ms=POLL_MS, max_records=self._batch_size)
        except KafkaError as exc:
            raise BrokerError(f"reading the feeds for their scorecards failed: {exc}") from exc
        counted, spans, total = Counted(), {}, 0
        for tp, messages in polled.items():
            if not messages or tp not in self._next:
                continue
            for message in messages:
                headers = {k: v for k, v in (message.headers or []) if v is not None}
                seen = Seen(tp.topic, message.timestamp, message.value, headers)
                self._counter.add(seen, counted)
            start = self._next[tp]
            spans[(tp.topic, tp.partition)] = Span(start, messages[-1].offset + 1)
            total += len(messages)
        if not spans:
            return 0
        if not add_batch(self._engine, counted.tallies, spans):
            log.info("a batch was counted by another consumer first; reading on from the store")
            self.rewind(list(self._next))
            return 0
        for (topic, partition), span in spans.items():
            self._next[TopicPartition(topic, partition)] = span.end
        self._observe(counted)
        return total

    def _observe(self, counted: Counted) -> None:
        for department, lag_s in counted.lags_s:
            self._metrics.timeliness.labels(department).observe(max(0.0, lag_s))
        for (department, outcome), n in counted.outcomes.items():
            self._metrics.rows.labels(department, outcome).inc(n)

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Count batches until ``should_stop()``."""
        while not should_stop():
            self.step()

    def close(self) -> None:
        """Leave the group."""
        self._consumer.close()


class _Rewind(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: QualityConsumer) -> None:
        self._owner = owner

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._owner.forget(list(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._owner.rewind(list(assigned))


def open_consumer(bootstrap: str, group: str, **client_options: Any) -> KafkaConsumer:
    """The quality consumer's Kafka client: offsets never committed to Kafka."""
    try:
        return KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **client_options,
        )
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
