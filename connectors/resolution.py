"""The resolution queue: records whose address did not resolve, held until it does.

A record whose free-text address matches no dwelling of the gazetteer, or several, is
neither dropped nor dead-lettered as invalid: it is parked here, in the connectors' state
store, with its source, position, the candidates, and the original sealed exactly as a
dead letter is. ``resolve_queue`` maps the parked records again once the gazetteer has
grown (after a housing export was loaded) and publishes those that now resolve.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa

from connectors.base import Event, RecordMapper, SourceRecord
from connectors.errors import RecordError
from connectors.gazetteer import UNRESOLVED_CODE, AddressUnresolved, Candidate
from connectors.sealing import seal, unseal
from connectors.state.tables import queue_table
from schemas.headers import RESOLVED


@dataclass(frozen=True)
class Parked:
    """A record held until its address resolves: where it came from, sealed, and why."""

    id: int
    department: str
    record: SourceRecord  # the original, unsealed; its position comes back as text
    field: str
    reason: str
    candidates: tuple[Candidate, ...]
    sealed: bytes
    attempts: int


class ResolutionQueue:
    """Records whose address did not resolve, kept in the connectors' state store with their
    candidates.

    The original record is sealed under the hub's seal key exactly as a dead letter is
    (AES-GCM bound to ``source#position``), so the queue holds no readable ID number, name
    or phone number.
    """

    def __init__(self, engine: sa.Engine, seal_key: bytes) -> None:
        """Over the connectors' state store ``engine`` (``connectors.state.store``)."""
        self.engine = engine
        self._seal_key = seal_key

    def park(self, department: str, record: SourceRecord, error: AddressUnresolved) -> None:
        """Hold ``record``; parking the same source position again replaces the entry."""
        row = {
            "department": department,
            "source": record.source,
            "position": str(record.position),
            "field": error.field,
            "reason": error.reason,
            "candidates": _candidates_json(error.candidates),
            "sealed": seal(self._seal_key, dict(record.fields), record.where),
            "parked_at": datetime.now(UTC),
            "attempts": 0,
        }
        same = sa.and_(
            queue_table.c.department == department,
            queue_table.c.source == record.source,
            queue_table.c.position == row["position"],
        )
        with self.engine.begin() as connection:
            connection.execute(queue_table.delete().where(same))
            connection.execute(queue_table.insert().values(**row))

    def parked(self, department: str | None = None) -> list[Parked]:
        """Every parked record (of ``department``), oldest first, its fields unsealed."""
        query = sa.select(queue_table).order_by(queue_table.c.id)
        if department is not None:
            query = query.where(queue_table.c.department == department)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [self._parked(row) for row in rows]

    def _parked(self, row: Any) -> Parked:
        where = f"{row.source}#{row.position}"
        opened = unseal(self._seal_key, row.sealed, where)
        fields = {k: None if v is None else str(v) for k, v in opened.items()}
        candidates = tuple(Candidate(d, c) for d, c in json.loads(row.candidates))
        record = SourceRecord(row.source, row.position, fields)
        return Parked(
            id=row.id,
            department=row.department,
            record=record,
            field=row.field,
            reason=row.reason,
            candidates=candidates,
            sealed=row.sealed,
            attempts=row.attempts,
        )

    def still_unresolved(self, item: Parked, error: AddressUnresolved) -> None:
        """Record another failed attempt and the current candidates."""
        with self.engine.begin() as connection:
            connection.execute(
                queue_table.update()
                .where(queue_table.c.id == item.id)
                .values(
                    reason=error.reason,
                    field=error.field,
                    candidates=_candidates_json(error.candidates),
                    attempts=item.attempts + 1,
                )
            )

    def remove(self, ids: list[int]) -> None:
        """Forget records that were published or dead-lettered."""
        if ids:
            with self.engine.begin() as connection:
                connection.execute(queue_table.delete().where(queue_table.c.id.in_(ids)))


class EventSink(Protocol):
    """Where resolve_queue sends what it resolved (KafkaPublisher is one)."""

    def publish(self, event: Event, origin: SourceRecord | None = None) -> str:
        """Send a mapped event."""
        ...

    def dead_letter(
        self, department: str, record: SourceRecord, error: RecordError, sealed: bytes
    ) -> None:
        """Send a record that turned out invalid for another reason."""
        ...

    def notice(
        self, department: str, record: SourceRecord, outcome: str, error: RecordError
    ) -> None:
        """Send a parked-address notice: here, that a parked record was published."""
        ...

    def flush(self) -> None:
        """Wait until everything sent is acknowledged."""
        ...


@dataclass
class QueueStats:
    """What one pass over the resolution queue did."""

    resolved: int = 0
    rejected: int = 0
    parked: int = 0


def resolve_queue(
    engine: sa.Engine,
    mappers: Mapping[str, RecordMapper],
    seal_key: bytes,
    sink: EventSink,
    department: str | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> QueueStats:
    """Map every parked record again (after the gazetteer grew) and publish what now resolves.

    A record that resolves is published; one that fails for another reason is
    dead-lettered; both leave the queue only after ``sink.flush()`` succeeded, so a crash
    resends (as the same event ids) rather than loses. The rest stay with fresh candidates.
    Departments without a mapper in ``mappers`` are left parked. ``progress`` is told of
    each record taken up (a progress bar).
    """
    queue = ResolutionQueue(engine, seal_key)
    stats, done = QueueStats(), []
    for item in queue.parked(department):
        if progress is not None:
            progress(1)
        mapper = mappers.get(item.department)
        if mapper is None:
            stats.parked += 1
            continue
        try:
            sink.publish(mapper(item.record.fields), item.record)
        except AddressUnresolved as error:
            queue.still_unresolved(item, error)
            stats.parked += 1
            continue
        except RecordError as error:  # invalid for another reason, or refused by the schema
            sink.dead_letter(item.department, item.record, error, item.sealed)
            stats.rejected += 1
        else:
            # The hub's scorecard counts resolutions from this notice.
            unresolved = RecordError(item.field, item.reason, UNRESOLVED_CODE)
            sink.notice(item.department, item.record, RESOLVED, unresolved)
            stats.resolved += 1
        done.append(item.id)
    sink.flush()
    queue.remove(done)
    return stats


def _candidates_json(candidates: tuple[Candidate, ...]) -> str:
    return json.dumps([[c.dwelling_id, c.community_code] for c in candidates])
