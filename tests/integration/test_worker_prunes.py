"""A running merge worker deletes expired history on its own, and says how much it deleted."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.database import create_engine, create_schema, disposing
from services.store.models import SituationSnapshot, ViewRow
from tests.support.hub import Hub
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _closed_alert(key: str, closed: datetime) -> ViewRow:
    record = {"alert_id": key, "status": "CLOSED", "closed_at": int(closed.timestamp() * 1000)}
    return ViewRow(
        view="alert",
        key=key,
        community_code="610103001001",
        visible=False,
        data=record,
        provenance={},
        state={},
        version=1,
    )


def _rows(url: str) -> tuple[list[str], int]:
    with disposing(create_engine(url)) as engine, Session(engine) as session:
        alerts = list(session.scalars(sa.select(ViewRow.key).order_by(ViewRow.key)))
        snapshots = session.scalar(sa.select(sa.func.count()).select_from(SituationSnapshot))
    return alerts, int(snapshots or 0)


def test_the_worker_prunes_closed_alerts_and_snapshots_past_their_bound(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    database_url: str,
) -> None:
    now = datetime.now(UTC)
    with disposing(create_engine(database_url)) as engine:
        create_schema(engine)
        with Session(engine) as session, session.begin():
            session.add_all(
                [
                    _closed_alert("welfare_check:long-ago", now - timedelta(days=401)),
                    _closed_alert("welfare_check:lately", now - timedelta(days=3)),
                    SituationSnapshot(
                        community_code="610103001001",
                        taken_at=now - timedelta(days=31),
                        data={"residents": 1},
                    ),
                    SituationSnapshot(
                        community_code="610103001001",
                        taken_at=now - timedelta(hours=2),
                        data={"residents": 2},
                    ),
                ]
            )
    hub = make_hub(
        start_broker(),
        database_url,
        DATONG_SNAPSHOT_RETENTION_DAYS="30",
        DATONG_PRUNE_INTERVAL_S="0.5",
    )

    hub.start("worker")

    wait_for(
        lambda: _rows(database_url) == (["welfare_check:lately"], 1),
        what="the worker to prune the expired alert and snapshot",
    )
    metrics = f"http://127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}/metrics"

    def exposition() -> str:
        with urllib.request.urlopen(metrics, timeout=5) as response:
            text: str = response.read().decode()
        return text

    # The counter moves just after each delete commits: wait for the last of the two.
    snapshots = 'datong_pruned_rows_total{table="situation_snapshot"} 1.0'
    text = wait_for(lambda: snapshots in (t := exposition()) and t, what="the prune's metrics")
    assert 'datong_pruned_rows_total{table="closed_alert"} 1.0' in text
