"""Seeded event streams for the faults: many versions per resident, so order matters."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from connectors.base import Event
from connectors.identity import person_key
from connectors.mappings.registry_export import RegistryMapping
from tests.support.factories import REGISTRY_HEADER, RegistryRow, health_event, registry_rows

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
STATUSES = ("GREEN", "YELLOW", "RED")
CHANGES = ("迁移", "迁移", "住址变更", "迁出", "死亡注销", "迁入")


def change_rows(rows: list[RegistryRow], count: int, rng: random.Random) -> list[RegistryRow]:
    """Moves, deregistrations and re-registrations of ``rows`` at seeded later times."""
    changes = []
    for i in range(count):
        row = rng.choice(rows)
        changes.append(
            RegistryRow(
                f"RX{i:07d}",
                row.id_number,
                action=rng.choice(CHANGES),
                name=row.name,
                dwelling_id=f"D-X{rng.randint(0, 99):02d}",
                community=f"C{rng.randint(1, 5):03d}",
                address=f"新址{rng.randint(1, 500)}号",
                # Few distinct minutes, so equal event times (ties broken by event_id) occur.
                effective=f"2025-0{rng.randint(1, 3)}-01 08:{rng.randint(0, 20):02d}:00",
            )
        )
    return changes


def registry_events(rows: list[RegistryRow], hmac_key: bytes) -> list[Event]:
    """The connector's events for registry rows."""
    mapping = RegistryMapping(hmac_key)
    return [mapping(dict(zip(REGISTRY_HEADER, r.cells(), strict=True))) for r in rows]


def resident_events(residents: int, hmac_key: bytes, rng: random.Random) -> list[Event]:
    """Registrations, then per resident several moves/deregistrations and health changes.

    Shuffled, so newer and older versions of one field arrive in every order.
    """
    rows = registry_rows(residents, seed=rng.randint(0, 2**31))
    events = registry_events(rows + change_rows(rows, residents, rng), hmac_key)
    for i in range(residents * 3):
        row = rng.choice(rows)
        key = person_key(row.id_number, hmac_key)
        at = T0 + timedelta(minutes=rng.randint(0, 90))
        record = health_event(key, rng.choice(STATUSES), at, event_id=f"h-{i:07d}")
        events.append(Event("health", "health-status-changed", key, record))
    rng.shuffle(events)
    return events
