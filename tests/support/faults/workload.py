"""Seeded event streams for the faults: many versions per resident, so order matters, and
every rule of every view (quarantines, deliveries, water, renovations, conflicts)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from connectors.base import Event
from connectors.identity import person_key
from connectors.mappings.household_register import HouseholdRegisterMapping
from tests.support.factories import REGISTRY_HEADER, RegistryRow, health_event, registry_rows
from tests.support.oracle import oracle_views
from tests.support.oracle.workload import workload

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
STATUSES = ("GREEN", "YELLOW", "RED")
CHANGES = ("迁移", "迁移", "住址变更", "迁出", "死亡注销", "迁入")
ALERT_RULES = {"WELFARE_CHECK", "ISOLATION_RISK", "QUARANTINE_DELIVERY", "RED_STATUS"}


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
    mapping = HouseholdRegisterMapping(hmac_key)
    return [mapping(dict(zip(REGISTRY_HEADER, r.cells(), strict=True))) for r in rows]


def every_rule_events(residents: int, rng: random.Random) -> list[Event]:
    """The oracle's workload over three communities with ``residents`` residents (and half as
    many dwellings), drawn until every alert rule fires in it, so that each fault is checked
    on quarantine, delivery, welfare and red-status alerts too."""
    for _ in range(50):
        events = workload(rng.randint(0, 2**31), residents, max(2, residents // 2))
        fired = {data["alert_type"] for data, _ in oracle_views(events)["alert"].values()}
        if fired >= ALERT_RULES:
            return events
    raise AssertionError(f"no draw of {residents} residents fired all of {sorted(ALERT_RULES)}")


def resident_events(residents: int, hmac_key: bytes, rng: random.Random) -> list[Event]:
    """Registrations, then per resident several moves/deregistrations and health changes,
    beside a tenth as many (20 to 60) residents of the every-rule workload.

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
    events += every_rule_events(min(60, max(20, residents // 10)), rng)
    rng.shuffle(events)
    return events
