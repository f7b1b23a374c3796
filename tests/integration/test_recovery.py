"""A merge worker killed with SIGKILL at seeded points ends with the views of an unkilled one."""

from __future__ import annotations

import random
import signal
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import pytest
import sqlalchemy as sa

from connectors.base import Event
from connectors.identity import person_key
from connectors.mappings.registry_export import RegistryMapping
from tests.conftest import Hub
from tests.demo_events import updates_of
from tests.factories import REGISTRY_HEADER, RegistryRow, health_event, registry_rows
from tests.integration.kafka_io import shown_rows, view_rows
from tests.integration.test_pipeline import T0, _deliver, merged_events
from tests.memory_views import pure_views

pytestmark = pytest.mark.integration

SEED = 20261128
STATUSES = ("GREEN", "YELLOW", "RED")


def _load(hub: Hub, residents: int, rng: random.Random) -> list[Event]:
    """Registrations, then moves, deregistrations and health changes in seeded order."""
    mapping = RegistryMapping(hub.settings.hmac_key)
    rows = registry_rows(residents, seed=SEED)
    events = [mapping(dict(zip(REGISTRY_HEADER, r.cells(), strict=True))) for r in rows]
    for i, row in enumerate(rng.sample(rows, residents // 5)):
        action = "迁移" if i % 3 else "迁出"
        change = RegistryRow(
            f"RC{i:07d}",
            row.id_number,
            action=action,
            dwelling_id=f"D-NEW-{i}",
            effective="2025-01-01 08:00:00",
        )
        events.append(mapping(dict(zip(REGISTRY_HEADER, change.cells(), strict=True))))
    for i in range(residents * 2):
        row = rng.choice(rows)
        key = person_key(row.id_number, hub.settings.hmac_key)
        at = T0 + timedelta(minutes=rng.randint(0, 600))
        record = health_event(key, rng.choice(STATUSES), at, event_id=f"hr-{i}")
        events.append(Event("health", "health-status-changed", key, record))
    rng.shuffle(events)
    return events


def _merged_at_least(hub: Hub, count: float) -> bool:
    return merged_events(hub) >= count


def _pending_outbox(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM outbox"))
            return int(count.scalar() or 0)
    finally:
        engine.dispose()


def test_a_worker_killed_at_seeded_points_ends_with_the_same_views(
    start_broker: Callable[[], str],
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    rng = random.Random(SEED)
    print(f"recovery seed {SEED}")
    batch = {"DATONG_BATCH_SIZE": "40"}
    crashed = make_hub(start_broker(), database_url, **batch)
    events = _load(crashed, 400, rng)
    # An uninterrupted run ends in what the pure merge makes of the events (any order).
    expected = pure_views(updates_of(events))
    _deliver(crashed, events)

    kill_at = sorted(rng.uniform(0.1, 0.9) for _ in range(3))
    progress = 0.0
    for fraction in kill_at:
        worker = crashed.start("worker")
        target = len(events) * fraction
        crashed.wait_for(
            partial(_merged_at_least, crashed, target - progress),
            f"{target:.0f} events merged before the kill",
        )
        progress += merged_events(crashed)
        crashed.kill(worker, signal.SIGKILL)
    crashed.start("worker")

    crashed.wait_for(
        lambda: shown_rows(database_url) == expected,
        f"the killed run (kills at {[f'{f:.2f}' for f in kill_at]}) to converge",
        timeout_s=120,
    )
    crashed.wait_for(lambda: _pending_outbox(database_url) == 0, "the outbox to drain")
    assert any(not visible for visible, _, _ in view_rows(database_url).values()), (
        "deregistrations ran"
    )
    situations = [data for _, data, _ in expected["community_situation"].values()]
    residents = expected["resident_profile"].values()
    assert sum(s["residents"] for s in situations) == len(residents), "no double counts"
    assert sum(sum(s["health_status_counts"].values()) for s in situations) == sum(
        1 for _, data, _ in residents if data["health_status"]
    )
