"""Rows of every view as the merge stores them (``view_row``), for tests of the read paths.

``data`` holds every field of the view contract but ``provenance`` (the key too), with
realistic values: person keys, masked names, codes. ``provenance`` is ``{field: [department,
event_id, event_time_ms]}`` for every valued field but the key, so a test can see that even
the provenance of a field outside a policy never leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from schemas.catalog import Catalog
from services.store.models import ViewRow
from tests.support.memory_views import MemoryViews

T0_MS = 1_709_600_000_000  # 2024-03-05
HOUR_MS = 3_600_000

OWNERS = {
    "resident_profile": "public-security",
    "household": "housing",
    "community_situation": "civil-affairs",
    "alert": "grid",
}


@dataclass(frozen=True)
class SeedRow:
    """One stored row: where it is, and what the merge keeps of it."""

    view: str
    key: str
    community_code: str | None
    data: dict[str, Any]
    provenance: dict[str, list[Any]]


def person_key(n: int) -> str:
    """A person_key as the connectors make it: 64 hex digits."""
    return hashlib.sha256(f"person-{n}".encode()).hexdigest()


def resident_profile(n: int, community: str | None) -> dict[str, Any]:
    """Every field of a resident_profile row but provenance."""
    return {
        "person_key": person_key(n),
        "community_code": community,
        "dwelling_id": f"{community}-01-1-{101 + n}",
        "address": f"北京市朝阳区幸福里1号楼1单元{101 + n}",
        "household_no": f"H{n:05d}",
        "name_masked": "李*英",
        "gender": "FEMALE",
        "birth_date": "1948-03-02",
        "phone_masked": "138****5678",
        "health_status": ["GREEN", "YELLOW", "RED"][n % 3],
        "elderly_living_alone": True,
        "disability_grade": "GRADE_2",
        "subsistence_allowance": False,
        "latest_test_result": ["NEGATIVE", "POSITIVE", "INCONCLUSIVE"][n % 3],
        "latest_test_at": 1_717_497_000_000 + n * 60_000,
        "vaccination_doses": 1 + n % 3,
        "last_vaccinated_at": 1_714_526_100_000 + n * 60_000,
    }


def household(n: int, community: str | None) -> dict[str, Any]:
    """Every field of a household row but provenance."""
    return {
        "dwelling_id": f"{community}-01-1-{101 + n}",
        "community_code": community,
        "grid_id": "G01",
        "building": "1号楼",
        "unit": "1单元",
        "room_number": str(101 + n),
        "floor": 1,
        "has_lift": False,
        "address": {
            "province": "北京市",
            "city": "北京市",
            "district": "朝阳区",
            "street": "幸福街道",
            "community": "幸福里社区",
            "building": "1号楼",
            "unit": "1单元",
            "room": str(101 + n),
            "full_text": f"北京市朝阳区幸福里1号楼1单元{101 + n}",
        },
        "rooms": 2,
        "has_separate_bathroom": True,
        "isolation_suitable": True,
        "resident_person_keys": sorted([person_key(n), person_key(n + 1000)]),
        "resident_count": 2,
        "quarantined": True,
        "quarantine_planned_end_at": T0_MS + 14 * 24 * HOUR_MS,
        "quarantines": {
            f"Q{n}": {
                "person_key": person_key(n),
                "kind": "HOME",
                "starts_at": T0_MS,
                "planned_end_at": T0_MS + 14 * 24 * HOUR_MS,
            }
        },
        "open_delivery_count": 1,
        "open_deliveries": {f"DL{n}": T0_MS + HOUR_MS},
        "renovation_project_id": "R2024-01",
        "renovation_stage": "CONSTRUCTION",
        "renovation_percent": 40,
        "last_water_reading": 123.4 + n,
        "last_water_reading_at": T0_MS + 2 * HOUR_MS,
        "last_water_activity_at": T0_MS + HOUR_MS,
    }


def community_situation(_: int, community: str | None) -> dict[str, Any]:
    """Every field of a community_situation row but provenance."""
    return {
        "community_code": community,
        "residents": 1200,
        "households": 480,
        "elderly_living_alone": 35,
        "disabled_residents": 12,
        "quarantined_households": 3,
        "health_status_counts": {"GREEN": 1190, "YELLOW": 8, "RED": 2},
        "open_alerts": {"WELFARE_CHECK": 2, "QUARANTINE_DELIVERY": 1},
        "pending_deliveries": 4,
        "elderly_alone_unvaccinated": 9,
        "residents_without_negative_test": 140,
        "renovation_projects": {
            "R2024-01": {"stage": "CONSTRUCTION", "percent": 40, "buildings": ["1号楼"]}
        },
        "department_freshness": {"health": T0_MS, "public-security": T0_MS - HOUR_MS},
    }


def alert(n: int, community: str | None) -> dict[str, Any]:
    """Every field of an alert row but provenance."""
    return {
        "alert_id": hashlib.sha256(f"alert {n}".encode()).hexdigest()[:32],
        "alert_type": "WELFARE_CHECK",
        "status": "OPEN",
        "subject_kind": "PERSON",
        "subject_key": person_key(n),
        "dwelling_id": f"{community}-01-1-{101 + n}",
        "community_code": community,
        "grid_id": "G01",
        "delivery_id": f"DL{n}",
        "opened_at": T0_MS,
        "closed_at": None,
        "reason": "no water use for 26 hours (since 2024-03-04 06:00 UTC)",  # stored before codes
        "reason_code": "NO_WATER_USE",
        "reason_params": {"hours": 26, "since": T0_MS - 26 * HOUR_MS},
        # The grid office's work on it: taken, visited, referred on.
        "task_id": f"T{n}",
        "assignee_code": "GW07",
        "assigned_at": T0_MS + HOUR_MS,
        "due_at": T0_MS + 24 * HOUR_MS,
        "visit_outcome": "REFERRED",
        "referred_to": "civil-affairs",
        "visited_at": T0_MS + 3 * HOUR_MS,
        "note": "referred for a care visit",
    }


VALUES = {
    "resident_profile": resident_profile,
    "household": household,
    "community_situation": community_situation,
    "alert": alert,
}


def seed_rows(communities: Sequence[str | None], per_community: int) -> list[SeedRow]:
    """``per_community`` rows of every view in each community (one situation row each)."""
    catalog = Catalog.load()
    rows = []
    for view, values in VALUES.items():
        key_field = catalog.view(view).key_field
        for c_index, community in enumerate(communities):
            if view == "community_situation" and community is None:
                continue  # a situation is always a community's
            count = 1 if view == "community_situation" else per_community
            for i in range(count):
                n = c_index * per_community + i
                data = values(n, community)
                key = str(data[key_field])
                provenance = {
                    f: [OWNERS[view], f"{OWNERS[view]}:{key[:12]}:{f}", T0_MS + n]
                    for f, v in data.items()
                    if f != key_field and v is not None
                }
                rows.append(SeedRow(view, key, community, data, provenance))
    return rows


def merged_rows(views: MemoryViews) -> list[SeedRow]:
    """The rows a pure merge shows in every view, to serve them from a real store."""
    return [
        SeedRow(view, key, row.community_code, dict(row.record or {}), dict(row.provenance))
        for view, rows in views.views.items()
        for key, row in sorted(rows.items())
        if row.visible
    ]


def store_rows(engine: sa.Engine, rows: Sequence[SeedRow]) -> None:
    """Write rows into ``view_row`` as visible rows."""
    with Session(engine) as session, session.begin():
        session.add_all(
            ViewRow(
                view=r.view,
                key=r.key,
                community_code=r.community_code,
                visible=True,
                data=r.data,
                provenance=r.provenance,
                state={},  # the merge's own state: never served
            )
            for r in rows
        )
