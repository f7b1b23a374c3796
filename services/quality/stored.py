"""The feed quality tallies in the view store: a batch added once, a department's days read.

A batch's tallies and the offsets after it are written in one transaction, and only if
each partition's stored offset is where the batch began (compare-and-set): a batch counted
before a crash, or by a consumer whose partitions were handed to another meanwhile, is
refused whole, and its consumer rewinds to the stored offsets. Every row is counted once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.quality.tally import CHINA, DayTally, Tallies
from services.store.models import MergeConflict
from services.store.quality_tables import FeedQualityDay, FeedQualityOffset

Partition = tuple[str, int]


@dataclass(frozen=True)
class Span:
    """A batch's offsets on one partition: where its consumer stood before it (None: nothing
    stored yet) and the offset after its last record."""

    start: int | None
    end: int


def stored_offsets(engine: sa.Engine, topics: Collection[str]) -> dict[Partition, int]:
    """The next offset to count on every partition of ``topics`` counted so far."""
    query = sa.select(FeedQualityOffset).where(FeedQualityOffset.topic.in_(list(topics)))
    with Session(engine) as session:
        return {(r.topic, r.partition): r.next_offset for r in session.scalars(query)}


def add_batch(engine: sa.Engine, tallies: Tallies, spans: Mapping[Partition, Span]) -> bool:
    """Add a batch's tallies and move its partitions' offsets, in one transaction; False
    (nothing written) when a partition's stored offset is not where the batch began."""
    try:
        with Session(engine) as session, session.begin():
            if not _move_offsets(session, spans):
                session.rollback()
                return False
            _add_tallies(session, tallies)
    except IntegrityError:  # another consumer made the same new row first: it counted it
        return False
    return True


def _move_offsets(session: Session, spans: Mapping[Partition, Span]) -> bool:
    for (topic, partition), span in sorted(spans.items()):
        if span.start is None:
            if session.get(FeedQualityOffset, (topic, partition)) is not None:
                return False  # another consumer counted the partition's first batch
            session.add(FeedQualityOffset(topic=topic, partition=partition, next_offset=span.end))
            session.flush()  # a concurrent first batch of the partition fails here, not later
            continue
        moved = session.execute(
            sa.update(FeedQualityOffset)
            .where(
                FeedQualityOffset.topic == topic,
                FeedQualityOffset.partition == partition,
                FeedQualityOffset.next_offset == span.start,
            )
            .values(next_offset=span.end)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return False
    return True


def _add_tallies(session: Session, tallies: Tallies) -> None:
    for (department, day), tally in sorted(tallies.items()):
        row = session.get(FeedQualityDay, (department, day), with_for_update=True)
        if row is None:
            session.add(FeedQualityDay(department=department, day=day, tally=tally.to_json()))
            continue
        total = DayTally.from_json(row.tally)
        total.absorb(tally)
        row.tally = total.to_json()
    session.flush()


def department_days(session: Session, department: str, since: date) -> dict[date, DayTally]:
    """A department's tallies from ``since`` on."""
    query = sa.select(FeedQualityDay).where(
        FeedQualityDay.department == department, FeedQualityDay.day >= since
    )
    return {row.day: DayTally.from_json(row.tally) for row in session.scalars(query)}


def conflicts_by_day(session: Session, department: str, since: date) -> dict[date, int]:
    """Writes of ``department`` refused as conflicts (a field it does not own), per China
    day of their event_time, from ``since`` on."""
    start = datetime.combine(since, datetime.min.time(), CHINA)
    since_ms = int(start.timestamp() * 1000)
    query = sa.select(MergeConflict.event_time_ms).where(
        MergeConflict.department == department, MergeConflict.event_time_ms >= since_ms
    )
    counts: dict[date, int] = {}
    for millis in session.scalars(query):
        day = (datetime.fromtimestamp(millis / 1000, CHINA)).date()
        counts[day] = counts.get(day, 0) + 1
    return counts


def first_day(today: date, days: int) -> date:
    """The first of the ``days`` days ending ``today``."""
    return today - timedelta(days=days - 1)
