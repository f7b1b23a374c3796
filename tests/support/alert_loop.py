"""A welfare-check alert raised through a running hub, for the grid worker's loop tests.

The departments' own events go to the source topics (as their connectors publish them): a
dwelling of the grid office's community, an elderly resident living alone in it, and a
water meter that has not gone up for a day, read now. The merge raises the alert.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.base import Event
from connectors.publisher import KafkaPublisher
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.store.database import create_engine
from services.store.registry_store import SqlRegistry
from tests.support.hub import Hub
from tests.support.oracle import events as make
from tests.support.stored_views import view_rows

# The shipped policy's grid office of this community may take its alerts.
GRID_OFFICE = "grid-office-110105001001"
COMMUNITY = "110105001001"


def welfare_events(tag: str, now: datetime) -> tuple[str, list[Event]]:
    """A resident's key and the events that raise a welfare check about them, up to ``now``."""
    person = hashlib.sha256(f"alert-loop-{tag}".encode()).hexdigest()
    home = f"D-LOOP-{tag}"
    silent_since = now - timedelta(hours=30)
    events = [
        make.event(
            "gov.housing.DwellingRegistered",
            silent_since - timedelta(hours=2),
            dwelling_id=home,
            community_code=COMMUNITY,
            grid_id="G-0101",
            building="3号楼",
            unit="1单元",
            room_number="101",
            floor=1,
            has_lift=False,
            rooms=1,
            has_separate_bathroom=False,
            address={
                **dict.fromkeys(("province", "city", "district", "street")),
                "community": COMMUNITY,
                "building": "3号楼",
                "unit": "1单元",
                "room": "101",
                "full_text": f"{COMMUNITY} 3号楼1单元101",
            },
        ),
        make.registered(person, silent_since - timedelta(hours=1), home, COMMUNITY),
        make.assessed(person, silent_since - timedelta(minutes=30), alone=True),
        make.reading(home, 12.5, silent_since),
        make.reading(home, 12.5, now),
    ]
    return person, events


def publish(hub: Hub, events: list[Event]) -> None:
    """Publish ``events`` on their source topics as the departments' connectors would."""
    engine = create_engine(hub.env["DATONG_DATABASE_URL"])
    publisher = KafkaPublisher(hub.settings.bootstrap, Serde(Catalog.load(), SqlRegistry(engine)))
    try:
        for event in events:
            publisher.publish(event)
        publisher.flush()
    finally:
        publisher.close()
        engine.dispose()


def raise_welfare_check(hub: Hub, tag: str) -> tuple[str, dict[str, Any]]:
    """Raise a welfare check through the hub; its alert id and stored record, once merged."""
    person, events = welfare_events(tag, datetime.now(UTC))
    publish(hub, events)
    return hub.wait_for(  # type: ignore[no-any-return]
        lambda: next(
            (
                (key, data)
                for key, (visible, data, _) in view_rows(
                    hub.env["DATONG_DATABASE_URL"], "alert"
                ).items()
                if visible and data["subject_key"] == person
            ),
            None,
        ),
        "the welfare-check alert in the view",
    )


def stored_alert(hub: Hub, alert_id: str) -> dict[str, Any]:
    """The alert's stored record (visible or not)."""
    _, data, _ = view_rows(hub.env["DATONG_DATABASE_URL"], "alert")[alert_id]
    return dict(data)


def api_of(hub: Hub) -> str:
    """The hub's API address, once it answers (its store migrated, its registry up)."""
    api = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"

    def up() -> bool:
        try:
            return httpx.get(f"{api}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    hub.wait_for(up, "the API to be ready")
    return api
