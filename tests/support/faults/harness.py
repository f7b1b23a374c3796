"""What every fault shares: delivering events, reading a worker's metrics, and the checks."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import sqlalchemy as sa
from kafka import KafkaAdminClient, TopicPartition
from kafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families

from connectors.base import Event
from connectors.publisher import KafkaPublisher
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry
from tests.support.expected_views import Expected, stored_differences
from tests.support.faults.monitor import VersionMonitor
from tests.support.hub import Hub, make_env
from tests.support.oracle.compare import account
from tests.support.waiting import wait_for


def deliver(hub: Hub, events: Iterable[Event]) -> int:
    """Publish events as a department's connector would (schema ids from the hub's store)."""
    settings = hub.settings
    engine = create_engine(settings.database_url)
    create_schema(engine)
    publisher = KafkaPublisher(settings.bootstrap, Serde(Catalog.load(), SqlRegistry(engine)))
    count = 0
    try:
        for event in events:
            publisher.publish(event)
            count += 1
        publisher.flush()
    finally:
        publisher.close()
        engine.dispose()
    return count


@dataclass(frozen=True)
class WorkerMetrics:
    """The figures of one worker's ``/metrics`` the faults look at."""

    merged: float
    lag: dict[tuple[str, str], float]  # (topic, partition) -> records behind
    outbox_pending: float | None

    @property
    def settled(self) -> bool:
        """Lag reported, and zero everywhere, and nothing left in the outbox."""
        return bool(self.lag) and not any(self.lag.values()) and self.outbox_pending == 0


def worker_metrics(hub: Hub) -> WorkerMetrics | None:
    """Scrape the hub's worker (None while it does not answer)."""
    try:
        url = f"http://127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}/metrics"
        response = httpx.get(url, timeout=5)
    except httpx.TransportError:
        return None
    merged, lag, pending = 0.0, {}, None
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "datong_merge_events_total":
                merged += sample.value
            elif sample.name == "datong_consumer_lag":
                lag[(sample.labels["topic"], sample.labels["partition"])] = sample.value
            elif sample.name == "datong_outbox_pending":
                pending = sample.value
    return WorkerMetrics(merged, lag, pending)


def merged(hub: Hub) -> float:
    """Source events the hub's running worker merged since it started (any outcome)."""
    metrics = worker_metrics(hub)
    return metrics.merged if metrics else 0.0


def checkpoint(hub: Hub, source: Path) -> int:
    """The hub's public-security connector's saved position for ``source`` (0 before any)."""
    path = hub.settings.checkpoint_dir / "public-security.json"
    try:
        saved = json.loads(path.read_text()).get(str(source))
    except (OSError, ValueError):
        return 0  # not written yet
    if isinstance(saved, dict):  # {"position": ..., "since": {...}} or the older bare position
        saved = saved.get("position")
    return int(saved or 0)


def wait_checkpoint(
    hub: Hub, source: Path, position: int, process: subprocess.Popen[bytes]
) -> None:
    """Poll closely (a batch takes a fraction of a second) until the connector running as
    ``process`` checkpointed ``position``; fail if it ends first or takes two minutes."""
    deadline = time.monotonic() + 120
    while checkpoint(hub, source) < position:
        assert process.poll() is None, f"the connector ended before {position}:\n{hub.logs()}"
        assert time.monotonic() < deadline, f"no checkpoint {position} in 120 s:\n{hub.logs()}"
        time.sleep(0.005)


def merged_at_least(hub: Hub, count: float) -> bool:
    """The hub's running worker merged at least ``count`` events since it started."""
    return merged(hub) >= count


def committed(hub: Hub, topic: str) -> int:
    """The hub's consumer group's committed offsets on ``topic``, summed over partitions
    (= records consumed and committed, as every partition starts at offset 0)."""
    settings = hub.settings
    wanted = [TopicPartition(topic, p) for p in range(settings.partitions)]
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap)
    try:
        offsets = admin.list_group_offsets({settings.consumer_group: wanted})
    except KafkaError:
        return 0
    finally:
        admin.close()
    found = offsets.get(settings.consumer_group, {})
    return sum(max(0, meta.offset) for meta in found.values())


def conflicts(database_url: str) -> list[tuple[str, str, str]]:
    """Every recorded merge conflict as (key, field, event_id), duplicates kept."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT key, field, event_id FROM merge_conflict"))
            return [(str(k), str(f), str(e)) for k, f, e in rows]
    finally:
        engine.dispose()


def unpublished(database_url: str) -> int:
    """View changes committed but not yet sent to the view topics."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM outbox"))
            return int(count.scalar() or 0)
    finally:
        engine.dispose()


def settled(hub: Hub) -> bool:
    """The hub's worker reports zero lag on every partition and an empty outbox."""
    metrics = worker_metrics(hub)
    return metrics is not None and metrics.settled


def new_hub(bootstrap: str, database_url: str, tmp: Path, **extra: str) -> Hub:
    """A hub outside the ``make_hub`` fixture (for module-scoped scenarios); stop it yourself."""
    tmp.mkdir(parents=True, exist_ok=True)
    return Hub(make_env(bootstrap, database_url, tmp / "var", **extra), tmp)


def wait_settled(hubs: list[Hub], what: str, timeout_s: float = 60.0) -> None:
    """Wait until every hub's worker is settled; on failure print what their metrics say."""
    for hub in hubs:
        try:
            hub.wait_for(partial(settled, hub), what, timeout_s)
        except BaseException:
            for other in hubs:
                metrics = worker_metrics(other)
                lagging = {k: v for k, v in metrics.lag.items() if v} if metrics else None
                print(
                    f"worker on :{other.env['DATONG_WORKER_METRICS_PORT']}: lag {lagging}, "
                    f"outbox {metrics.outbox_pending if metrics else None}"
                )
            raise


def assert_converged(
    hubs: list[Hub],
    database_url: str,
    expected: Expected,
    monitor: VersionMonitor | None = None,
    settle: list[Hub] | None = None,
) -> None:
    """No event lost, no duplicate effect, versions never backwards, lag back to zero (on the
    workers of ``settle``, by default every hub's): every shown row of the four views equal
    to the oracle's, field by field with provenance, and one conflict per refused write.

    Waits on the workers' metrics first (cheap), then compares whole views (not cheap: a
    tight loop of full reads would starve the worker on a small machine).
    """
    settle = hubs if settle is None else settle
    wait_settled(settle, "datong_consumer_lag and datong_outbox_pending to reach 0")
    found: list[str] = []

    def equal() -> bool:
        found[:] = stored_differences(database_url, expected)
        return not found

    try:
        wait_for(equal, 60, interval_s=1.0, what="the four views to equal the oracle's")
    except BaseException:
        print(account(found))
        for hub in hubs:
            print(complaints(hub))
        raise
    print(f"the oracle's {coverage(expected)} all stored")
    assert sorted(conflicts(database_url)) == sorted(expected.conflicts), "one conflict per write"
    assert unpublished(database_url) == 0
    # Again: a rebalance after a fault may replay a tail (harmlessly) and show lag meanwhile.
    wait_settled(settle, "the lag to stay at 0")
    if monitor is not None:
        report = monitor.stop()
        print(f"version monitor: {report}")
        assert report.polls >= 2, "the views were polled while the fault ran"
        assert not report.backwards, f"versions went backwards: {report.backwards[:5]}"


def complaints(hub: Hub, limit: int = 40) -> str:
    """The warnings and errors the hub's processes logged (the last ``limit``), to tell a
    view the merge got wrong from an event it never merged (dead-lettered, say)."""
    lines = [
        line[:300] for line in hub.logs().splitlines() if "[WARNING]" in line or "[ERROR]" in line
    ]
    return f"{len(lines)} warnings and errors logged; the last {limit}:\n" + "\n".join(
        lines[-limit:]
    )


def coverage(expected: Expected) -> str:
    """How many rows each view shows, and the alerts by rule (what a fault was checked on)."""
    rules = Counter(data["alert_type"] for data, _ in expected.views["alert"].values())
    views = ", ".join(f"{len(rows)} {view}" for view, rows in expected.views.items())
    return f"{views} rows (alerts: {dict(sorted(rules.items()))})"
