"""``datong views rebuild``: the views built again from the source topics, beside the live store,
then compared with it (``--verify``) and swapped in (``--switch``).

1. The shadow store (``services/store/shadow.py``) is made empty and migrated.
2. Every source topic is read from its beginning to its head through the merge (``replay.py``).
3. The live store is locked against writers (``services/store/view_swap.py``); what arrived
   meanwhile is read, up to a head the broker reports after the lock, so the rebuilt views
   hold every event the live ones hold.
4. Row by row, field by field, the two are compared (``compare.py``). A verify stops here.
   A switch writes the rows that differ into the live store in one transaction, then sends
   the records whose content changed to the view topics, and drops the shadow.

The live store is written in step 4 only, in one transaction: a rebuild stopped anywhere
before it leaves the live store as it was, and is started again from step 1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.errors import BrokerError
from services.merge.app import aiokafka_security
from services.merge.encoding import ViewEncoder, ViewRecord
from services.merge.processor import MergeProcessor
from services.merge.publisher import ViewPublisher
from services.merge.rules import ALERT_VIEW, COMMUNITY_SITUATION
from services.metrics import MergeMetrics
from services.rebuild.compare import ComparedRow, Comparison
from services.rebuild.replay import Replay, Tally
from services.registries import hub_registry
from services.settings import Settings
from services.store.database import create_engine, create_schema
from services.store.merge_store import RowWrite, StoredView, open_merge_store
from services.store.shadow import Shadow, shadow_of
from services.store.view_swap import SwapWrite, ViewSwap, open_swap

log = logging.getLogger(__name__)

Say = Callable[[str], None]
# A bar for about ``total`` records: its advance callback, or None (not on a terminal).
Bar = Callable[[str, int | None], AbstractContextManager[Callable[[int], None] | None]]

SETTLE_S = 3.0  # under the lock, how long the live worker may take to commit its offsets


@dataclass
class Result:
    """What a rebuild did."""

    shadow: str
    tally: Tally
    seconds: float
    comparison: Comparison | None = None
    behind: dict[str, int] = field(default_factory=dict)  # topic -> events live had not merged
    pending: int = 0  # community deltas the live worker had not folded
    switched_version: int | None = None
    published: int = 0


def rebuild(
    settings: Settings, *, verify: bool, switch: bool, wait_s: float, say: Say, bar: Bar
) -> Result:
    """Rebuild the views into the shadow store; compare and swap in as asked."""
    started = time.monotonic()
    shadow = shadow_of(settings.database_url)
    catalog = Catalog.load()
    engine = create_engine(settings.database_url)
    try:
        create_schema(engine)  # a lost live store is rebuilt into a new, empty one
        serde = Serde(catalog, hub_registry(settings, engine))
        shadow.recreate()
        say(f"rebuilding the views into the {shadow.describe()}")
        store = shadow.merge_store()
        processor = MergeProcessor(
            store,
            serde,
            MergeMetrics(CollectorRegistry()),
            settings.hmac_key,
            test_window_h=settings.epidemic_test_window_h,
        )
        processor.prepare()
        replay = Replay(processor, lambda: source_consumer(settings), settings.batch_size)
        try:
            with bar("events", replay.estimate()) as advance:
                replay.to_head(advance)
            result = Result(shadow.describe(), replay.tally, 0.0)
            if verify or switch:
                _compare(settings, shadow, replay, result, switch=switch, wait_s=wait_s, say=say)
        finally:
            replay.close()
            store.close()
        if result.switched_version is not None:
            result.published = asyncio.run(_publish_marked(settings, serde))
            shadow.drop()
    finally:
        engine.dispose()
    result.seconds = time.monotonic() - started
    return result


def _compare(
    settings: Settings,
    shadow: Shadow,
    replay: Replay,
    result: Result,
    *,
    switch: bool,
    wait_s: float,
    say: Say,
) -> None:
    """Lock the live store, read what arrived meanwhile, compare, and switch if asked.

    A verify compares like with like: the live worker must have merged every event the
    rebuild read and folded every community delta, or a difference would only say that it
    is a moment behind. It waits for that (up to ``wait_s``), releasing the lock between
    looks so the worker can get on; a switch needs no wait, it replaces what is behind.
    """
    deadline = time.monotonic() + wait_s
    if not switch:
        _wait_for_live(settings, replay.positions, wait_s)
    say("locking the live view store against writers (readers go on)")
    while True:
        with open_swap(shadow) as swap:
            replay.fresh()
            replay.to_head()
            behind = _wait_for_live(settings, replay.positions, 0 if switch else SETTLE_S)
            pending = swap.pending_deltas()
            if switch or not (behind or pending) or time.monotonic() >= deadline:
                result.behind, result.pending = behind, pending
                comparison = compare_stores(swap)
                result.comparison = comparison
                if switch:
                    result.switched_version = swap.write(swap_write(comparison, datetime.now(UTC)))
                return
        time.sleep(0.5)


def compare_stores(swap: ViewSwap) -> Comparison:
    """Every difference between the locked live store and the rebuilt one.

    Closed alerts are history, not derived data: which alerts opened and closed on the way
    depends on the order the events arrived in (a status that turned RED and back before the
    resident was registered opens nothing in a replay), and the worker prunes them after
    their retention. So an alert row hidden (or absent) on both sides is no difference, and a
    switch keeps the live store's history as it is.
    """
    comparison = Comparison()
    for pair in swap.pairs():
        if _history(pair.view, pair.live) and _history(pair.view, pair.rebuilt):
            continue
        comparison.add_row(pair.view, pair.key, _row(pair.live), _row(pair.rebuilt))
    extra, missing = swap.conflicts()
    comparison.add_conflicts(extra, missing)
    return comparison


def swap_write(comparison: Comparison, now: datetime) -> SwapWrite:
    """What a switch writes: each differing row as rebuilt; a row the rebuild has not is
    emptied and hidden if subscribers had it (so they get a tombstone), else deleted."""
    write = SwapWrite(republish=list(comparison.republish))
    hour = now.replace(minute=0, second=0, microsecond=0)
    republished = set(comparison.republish)
    for (view, key), row in comparison.rows.items():
        if (view, key) in comparison.gone and (view, key) not in republished:
            write.deleted.append((view, key))
            continue
        write.rows.append(
            RowWrite(
                view,
                key,
                row.community_code,
                row.visible,
                dict(row.data),
                dict(row.provenance),
                dict(row.state),
                (view, key) in comparison.new,
            )
        )
        if view == COMMUNITY_SITUATION.name and row.shown():
            write.snapshots.append((key, hour, dict(row.data)))
    write.conflicts_added = list(comparison.conflicts_missing)
    write.conflicts_removed = list(comparison.conflicts_extra)
    return write


def _history(view: str, stored: StoredView | None) -> bool:
    """Absent, or an alert no reader sees: one that closed (or was pruned)."""
    return stored is None or (view == ALERT_VIEW and not stored.visible)


def _row(stored: StoredView | None) -> ComparedRow | None:
    if stored is None:
        return None
    return ComparedRow(
        stored.community_code, stored.visible, stored.data, stored.provenance, stored.state
    )


def source_consumer(settings: Settings) -> KafkaConsumer:
    """A consumer of no group, for reading the source topics from their beginning."""
    return KafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=4 << 20,
        **settings.kafka_options(),
    )


def _wait_for_live(
    settings: Settings, positions: dict[TopicPartition, int], wait_s: float
) -> dict[str, int]:
    """Wait up to ``wait_s`` for the live merge group to commit every position read;
    return, per topic, how many events it still has not."""
    deadline = time.monotonic() + wait_s
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap, **settings.kafka_options())
    except KafkaError as exc:
        raise BrokerError(f"cannot ask the broker for the merge group's offsets: {exc}") from exc
    try:
        while True:
            try:
                group = settings.consumer_group
                committed = admin.list_group_offsets({group: list(positions)}).get(group, {})
            except KafkaError as exc:
                log.warning("reading the merge group's offsets failed: %s", exc)
                committed = {}
            behind: dict[str, int] = {}
            for tp, position in positions.items():
                done = max(committed[tp].offset, 0) if tp in committed else 0  # -1: none
                if position > done:
                    behind[tp.topic] = behind.get(tp.topic, 0) + position - done
            if not behind or time.monotonic() >= deadline:
                return behind
            time.sleep(0.25)
    finally:
        admin.close()


async def _publish_marked(settings: Settings, serde: Serde) -> int:
    """Send the rows the switch marked (and any a stopped worker left) to the view topics."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap, acks="all", linger_ms=2, **aiokafka_security(settings)
    )
    try:
        await producer.start()
    except Exception as exc:
        raise BrokerError(
            f"the switch is committed but the broker is unreachable ({exc}): its changes stay "
            "in the outbox, and any running worker sends them within a minute"
        ) from exc

    async def send(record: ViewRecord) -> asyncio.Future[object]:
        delivery: asyncio.Future[object] = await producer.send(
            record.topic, value=record.value, key=record.key, headers=record.headers
        )
        return delivery

    publisher = ViewPublisher(
        open_merge_store(settings.database_url),
        send,
        ViewEncoder(serde),
        MergeMetrics(CollectorRegistry()),
    )
    sent = 0
    try:
        while cleared := await publisher.sweep(everything=True):
            sent += cleared
    finally:
        publisher.close()
        await producer.stop()
    return sent
