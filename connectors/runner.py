"""The connector loop: read -> map -> validate -> publish -> flush -> checkpoint.

A position is checkpointed only after the flush that covers it succeeded, and every
event_id is derived from its source record, so a connector killed anywhere and
restarted resends at most the unflushed tail, as the same events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from connectors.base import RecordMapper, Source, SourceRecord
from connectors.checkpoints import FileCheckpoints
from connectors.errors import RecordError
from connectors.metrics import ConnectorMetrics
from connectors.publisher import KafkaPublisher
from connectors.sealing import seal

log = logging.getLogger(__name__)


@dataclass
class RunStats:
    """What one run did."""

    published: int = 0
    rejected: int = 0
    last_position: int | None = None
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class Runner:
    """Runs one source through one mapping."""

    mapping: RecordMapper
    publisher: KafkaPublisher
    checkpoints: FileCheckpoints
    seal_key: bytes
    metrics: ConnectorMetrics
    batch_size: int = 1000

    def run(self, source: Source) -> RunStats:
        """Publish every record of ``source`` after its checkpoint; return what happened."""
        stats = RunStats(last_position=self.checkpoints.get(source.name))
        pending: SourceRecord | None = None
        in_batch = 0
        for record in source.records(stats.last_position):
            self._handle(record, stats)
            pending, in_batch = record, in_batch + 1
            if in_batch >= self.batch_size:
                self._commit(source.name, pending, stats)
                in_batch = 0
        if pending is not None:
            self._commit(source.name, pending, stats)
        return stats

    def _handle(self, record: SourceRecord, stats: RunStats) -> None:
        department = self.mapping.department
        try:
            if record.error is not None:
                raise record.error
            event = self.mapping(record.fields)
            self.publisher.publish(event)
        except RecordError as error:
            self._reject(record, error, stats)
            return
        stats.published += 1
        self.metrics.records.labels(department, event.event, "published").inc()

    def _reject(self, record: SourceRecord, error: RecordError, stats: RunStats) -> None:
        department = self.mapping.department
        content: dict[str, object] = (
            dict(record.fields) if record.fields else {"raw": record.raw.hex()}
        )
        self.publisher.dead_letter(
            department, record, error, seal(self.seal_key, content, record.where)
        )
        stats.rejected += 1
        stats.reasons[error.code] = stats.reasons.get(error.code, 0) + 1
        self.metrics.records.labels(department, "unmapped", "rejected").inc()
        self.metrics.dead_letters.labels(department, error.code).inc()
        # Field and reason only: the value may be an ID number, a name or a phone number.
        log.warning("rejected %s: %s %s", record.where, error.field, error.reason)

    def _commit(self, source: str, last: SourceRecord, stats: RunStats) -> None:
        self.publisher.flush()
        self.checkpoints.save(source, last.position)
        stats.last_position = last.position
