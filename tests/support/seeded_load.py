"""A seeded load for a hub's worker: registrations, then moves, deregistrations and health
changes, shuffled so that newer and older versions of a field arrive in any order."""

from __future__ import annotations

import random
from datetime import timedelta

from connectors.base import Event
from connectors.identity import person_key
from connectors.mappings.household_register import HouseholdRegisterMapping
from tests.support.factories import REGISTRY_HEADER, RegistryRow, health_event, registry_rows
from tests.support.hub import Hub
from tests.support.pipeline import T0

SEED = 20261128  # the registry rows of every load
STATUSES = ("GREEN", "YELLOW", "RED")


def seeded_load(hub: Hub, residents: int, rng: random.Random) -> list[Event]:
    """Registrations, then moves, deregistrations and health changes in seeded order."""
    mapping = HouseholdRegisterMapping(hub.settings.hmac_key)
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
