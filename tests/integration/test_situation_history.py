"""`datong views history`: past hours' situation snapshots derived from the source topics.

Events dated over the last days are published as their departments would, then the command
replays them. The oracle is the rule read directly off the events fed: the snapshot of an
hour counts the residents registered, and the RED statuses given, up to the end of that hour;
an hour without events has no snapshot; a snapshot already in the store is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from connectors.base import Event
from services.store.models import SituationSnapshot
from tests.support.factories import health_event
from tests.support.hub import Hub
from tests.support.pipeline import deliver
from tests.support.rebuilds import output_of

pytestmark = pytest.mark.integration

COMMUNITY = "110105001001"
NOW = datetime.now(UTC)
# Hours ago each resident was registered: one before the window, two in the same hour.
REGISTERED_HOURS_AGO = (24 * 10, 50, 30.2, 30.1, 10, 2)
RED_HOURS_AGO = 20  # the first resident turns RED


def _key(n: int) -> str:
    return f"{n:02x}" * 32


def _registered(n: int, at: datetime) -> Event:
    record: dict[str, Any] = {
        "event_id": f"history-test:registered:{n}",
        "event_time": at,
        "department": "public-security",
        "person_key": _key(n),
        "community_code": COMMUNITY,
        "dwelling_id": None,
        "address": None,
        "household_no": None,
        "name_masked": "张*",
        "gender": "FEMALE",
        "birth_date": date(1950, 1, 1),
        "phone_masked": None,
    }
    return Event("public-security", "resident-registered", _key(n), record)


def _ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _snapshots(url: str) -> dict[datetime, dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with Session(engine) as session:
            return {
                _hour(s.taken_at.replace(tzinfo=s.taken_at.tzinfo or UTC)): s.data
                for s in session.scalars(
                    sa.select(SituationSnapshot).where(
                        SituationSnapshot.community_code == COMMUNITY
                    )
                )
            }
    finally:
        engine.dispose()


def _keep(url: str, hour: datetime, data: dict[str, Any]) -> None:
    """A snapshot the worker took earlier, stored before the history replay runs."""
    engine = sa.create_engine(url)
    try:
        with Session(engine) as session, session.begin():
            session.add(SituationSnapshot(community_code=COMMUNITY, taken_at=hour, data=data))
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_each_past_hour_gets_the_situation_of_the_events_up_to_its_end(
    start_broker: Callable[[], str], database_url: str, make_hub: Callable[..., Hub]
) -> None:
    hub = make_hub(start_broker(), database_url)
    registrations = [(_ago(h), _registered(n, _ago(h))) for n, h in enumerate(REGISTERED_HOURS_AGO)]
    red = health_event(_key(0), "RED", _ago(RED_HOURS_AGO))
    deliver(
        hub,
        [e for _, e in registrations] + [Event("health", "health-status-changed", _key(0), red)],
    )
    kept_hour = _hour(_ago(10))
    _keep(database_url, kept_hour, {"residents": 999})

    process = hub.start("views", "history", "--days", "7", long_running=False)
    assert process.wait(300) == 0, output_of(hub, process)

    window_start = _hour(NOW) - timedelta(days=7)
    event_hours = {_hour(at) for at, _ in registrations} | {_hour(_ago(RED_HOURS_AGO))}
    expected: dict[datetime, dict[str, Any]] = {}
    for hour in sorted(h for h in event_hours if window_start <= h < _hour(NOW)):
        end = hour + timedelta(hours=1)
        residents = sum(1 for at, _ in registrations if at < end)
        reds = 1 if _ago(RED_HOURS_AGO) < end else 0
        expected[hour] = {"residents": residents, "RED": reds}
    expected[kept_hour] = {"residents": 999, "RED": 0}

    stored = _snapshots(database_url)
    shown = {
        hour: {
            "residents": data.get("residents"),
            "RED": (data.get("health_status_counts") or {}).get("RED", 0),
        }
        for hour, data in stored.items()
    }
    assert shown == expected
    assert f"{len(expected) - 1} snapshots added" in output_of(hub, process)
