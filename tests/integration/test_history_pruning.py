"""History older than its bound leaves the view store; what is newer, or still open, stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session

from services.merge.history import HistoryPruner
from services.metrics import MergeMetrics
from services.retention import Retention
from services.store.database import create_engine, create_schema
from services.store.models import SituationSnapshot, ViewRow

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
BOUND = Retention(closed_alert_days=400, snapshot_days=400)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _alert(key: str, *, closed_days_ago: int | None, opened_days_ago: int = 900) -> ViewRow:
    closed_at = None if closed_days_ago is None else _ms(NOW - timedelta(days=closed_days_ago))
    closed = closed_at is not None
    record: dict[str, Any] = {
        "alert_id": key,
        "status": "CLOSED" if closed else "OPEN",
        "opened_at": _ms(NOW - timedelta(days=opened_days_ago)),
        "closed_at": closed_at,
    }
    return ViewRow(
        view="alert",
        key=key,
        community_code="610103001001",
        visible=not closed,
        data=record,
        provenance={},
        state={},
        version=1,
    )


def _snapshot(hours_ago: int) -> SituationSnapshot:
    return SituationSnapshot(
        community_code="610103001001",
        taken_at=NOW - timedelta(hours=hours_ago),
        data={"residents": hours_ago},
    )


def _keys(engine: sa.Engine) -> tuple[set[str], set[datetime]]:
    with Session(engine) as session:
        alerts = set(session.scalars(sa.select(ViewRow.key).where(ViewRow.view == "alert")))
        taken = {
            t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
            for t in session.scalars(sa.select(SituationSnapshot.taken_at))
        }
    return alerts, taken


def _pruner(engine: sa.Engine, registry: CollectorRegistry, batch_size: int) -> HistoryPruner:
    return HistoryPruner(engine, BOUND, batch_size, MergeMetrics(registry), clock=NOW.timestamp)


def test_closed_alerts_and_snapshots_past_their_bound_are_pruned(engine: sa.Engine) -> None:
    expired_alerts = [_alert(f"welfare_check:old{i}", closed_days_ago=401 + i) for i in range(5)]
    kept_alerts = [
        _alert("welfare_check:recent", closed_days_ago=399),
        _alert("red_status:open", closed_days_ago=None, opened_days_ago=2000),
    ]
    day = 24
    old_snapshots = [_snapshot(401 * day + h) for h in range(3)]
    kept_snapshots = [_snapshot(399 * day), _snapshot(1)]
    kept_times = {s.taken_at for s in kept_snapshots}
    with Session(engine) as session, session.begin():
        session.add_all([*expired_alerts, *kept_alerts, *old_snapshots, *kept_snapshots])
    registry = CollectorRegistry()

    # Batches of two: five expired alerts take three transactions.
    pruned = _pruner(engine, registry, batch_size=2).prune()

    assert pruned == {"closed_alert": 5, "situation_snapshot": 3}
    alerts, taken = _keys(engine)
    assert alerts == {"welfare_check:recent", "red_status:open"}
    assert taken == kept_times
    for kind, count in pruned.items():
        assert registry.get_sample_value("datong_pruned_rows_total", {"table": kind}) == count


def test_pruning_again_finds_nothing_and_keeps_the_other_views(engine: sa.Engine) -> None:
    resident = ViewRow(
        view="resident_profile",
        key="p1",
        community_code="610103001001",
        visible=False,  # a hidden row of another view: never history, never pruned
        data={"status": "CLOSED", "closed_at": 0},
        provenance={},
        state={},
        version=1,
    )
    with Session(engine) as session, session.begin():
        session.add_all([resident, _alert("welfare_check:old", closed_days_ago=500)])
    pruner = _pruner(engine, CollectorRegistry(), batch_size=100)

    assert pruner.prune() == {"closed_alert": 1, "situation_snapshot": 0}
    assert pruner.prune() == {"closed_alert": 0, "situation_snapshot": 0}
    with Session(engine) as session:
        assert session.scalars(sa.select(ViewRow.key)).all() == ["p1"]
