"""``datong views history``: the hourly situation snapshots of past hours, from the source topics.

The worker snapshots each community as it folds, at the hour of its clock, so a hub shows
history only from the hour it started, however old the events it merged. This derives the
hours before: every source event is read from the beginning of its topic and merged, by the
worker's own merge and fold, into a scratch store, oldest hour of event time first; after
each hour's events the community stage folds, so that hour's snapshot holds exactly the
events up to its end. The live store then gets the snapshots of the hours it has none of; a
snapshot the worker took is never replaced, and the current hour is left to the worker.

It holds every source event's bytes in memory while it orders them: a tool for a demo or a
young hub (`datong up --demo` runs it once its connectors are done), not for years of events.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session

from schemas.catalog import Catalog
from schemas.errors import SchemaError
from schemas.registry.errors import RegistryUnreachableError
from schemas.serde import Serde
from schemas.sql_stores import create_engine, migrate
from services.errors import BrokerError
from services.merge.processor import MergeProcessor, Message
from services.metrics import MergeMetrics
from services.rebuild.hours import HOUR_MS, by_hour
from services.rebuild.replay import at_head
from services.registries import hub_registry
from services.settings import Settings
from services.store.merge_store import chunks, open_merge_store
from services.store.migrate import HISTORY, upgrade
from services.store.models import SituationSnapshot
from services.store.snapshot_fill import Snapshot, fill_missing

log = logging.getLogger(__name__)

Say = Callable[[str], None]
NewConsumer = Callable[[], KafkaConsumer]


@dataclass(frozen=True)
class HistoryResult:
    """What a history replay did."""

    events: int
    hours: int  # hours of the window with events, each folded and snapshotted
    added: int  # snapshots written into the live store
    seconds: float
    stopped: bool = False  # asked to stop before the end: nothing was written


def backfill_history(
    settings: Settings,
    new_consumer: NewConsumer,
    *,
    days: int,
    now: datetime,
    say: Say,
    stop: threading.Event | None = None,
) -> HistoryResult:
    """Replay every source event hour by hour into a scratch store; give the live store the
    snapshots of the last ``days`` days (before ``now``'s hour) that it lacks.

    ``stop`` set ends it between two hours (or two fetches) with nothing written to the live
    store, which gets all its snapshots in one transaction at the end or none.
    """
    stop = stop or threading.Event()
    started = time.monotonic()
    catalog = Catalog.load()
    live = create_engine(settings.database_url)
    try:
        serde = Serde(catalog, hub_registry(settings, live))
        topics = sorted(c.topic for c in catalog.sources())
        messages = read_to_head(new_consumer, topics, stop)
        say(f"read {len(messages)} source events; merging them hour by hour")
        hour_now = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        since = hour_now - timedelta(days=days)
        with tempfile.TemporaryDirectory(prefix="history-", dir=_scratch_dir(settings)) as tmp:
            snapshots, hours = _replay(
                settings, serde, messages, since=since, tmp=Path(tmp), stop=stop
            )
        if stop.is_set():
            return HistoryResult(len(messages), hours, 0, time.monotonic() - started, True)
        window = [s for s in snapshots if since <= s.taken_at < hour_now]
        added = fill_missing(live, window)
    finally:
        live.dispose()
    return HistoryResult(len(messages), hours, added, time.monotonic() - started)


def read_to_head(
    new_consumer: NewConsumer, topics: list[str], stop: threading.Event
) -> list[Message]:
    """Every record of ``topics``, from the first to each partition's head when read (or
    those read so far, once ``stop`` is set)."""
    try:
        consumer = new_consumer()
    except KafkaError as exc:
        raise BrokerError(f"cannot read the source topics: {exc}") from exc
    try:
        partitions = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        messages: list[Message] = []
        while not stop.is_set():
            fetched = consumer.poll(timeout_ms=200, max_records=10_000)
            batch = [
                Message(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
                for records in fetched.values()
                for r in records
            ]
            messages += batch
            if not batch and all(at_head(consumer, tp) for tp in partitions):
                break
        return messages
    except KafkaError as exc:
        raise BrokerError(f"reading the source topics failed: {exc}") from exc
    finally:
        consumer.close()


class _HourClock:
    """The processor's clock during a replay: the middle of the hour being merged."""

    def __init__(self) -> None:
        self.hour_ms = 0

    def __call__(self) -> float:
        return (self.hour_ms + HOUR_MS // 2) / 1000


def _replay(
    settings: Settings,
    serde: Serde,
    messages: list[Message],
    *,
    since: datetime,
    tmp: Path,
    stop: threading.Event,
) -> tuple[list[Snapshot], int]:
    """Merge ``messages`` hour by hour into a scratch store; return its snapshots and how
    many hours of the window had events."""
    url = f"sqlite:///{tmp / 'history.db'}"
    engine = create_engine(url)
    try:
        migrate(engine, HISTORY, upgrade)
        clock = _HourClock()
        store = open_merge_store(url)
        processor = MergeProcessor(
            store, serde, MergeMetrics(CollectorRegistry()), settings.hmac_key, clock=clock
        )
        try:
            groups = by_hour(((_event_ms(serde, m), m) for m in messages), _ms(since))
            for hour_ms, group in groups:
                if stop.is_set():
                    break
                clock.hour_ms = hour_ms
                for batch in chunks(group, settings.batch_size):
                    processor.merge(processor.decode(batch))
                while communities := processor.pending_communities():
                    processor.fold(communities)
        finally:
            store.close()
        with Session(engine) as session:
            rows = session.scalars(sa.select(SituationSnapshot)).all()
            snapshots = [Snapshot(s.community_code, _utc(s.taken_at), dict(s.data)) for s in rows]
    finally:
        engine.dispose()
    return snapshots, sum(1 for hour_ms, _ in groups if hour_ms >= _ms(since))


def _event_ms(serde: Serde, message: Message) -> int:
    """When the event happened; an undecodable record sorts first (the merge rejects it)."""
    try:
        contract = serde.catalog.by_topic(message.topic)
        value = serde.decode(contract, message.value or b"").get("event_time")
    except RegistryUnreachableError:
        raise  # not an undecodable record: the history cannot be rebuilt without it
    except SchemaError:
        return 0
    if isinstance(value, datetime):
        return _ms(value)
    return int(value) if isinstance(value, int) else 0


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they are stored in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _scratch_dir(settings: Settings) -> Path:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return settings.var_dir
