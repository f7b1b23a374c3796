"""A view topic's record, decoded for subscribers, reads as the view route renders the row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.api.json_records import json_record
from services.api.live.changes import decode_change
from services.merge.records import avro_record
from tests.support.stores import embedded_registry

PERSON = "ab" * 32
MS = 1_717_228_800_000  # 2024-06-01T08:00:00Z


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@pytest.fixture
def serde() -> Iterator[Serde]:
    engine = sqlalchemy.create_engine("sqlite://")
    yield Serde(Catalog.load(), embedded_registry(engine))
    engine.dispose()


STORED: dict[str, tuple[str, dict[str, Any], dict[str, list[Any]]]] = {
    "resident_profile": (
        PERSON,
        {
            "community_code": "C001",
            "dwelling_id": "D-1",
            "address": "幸福里1号楼",
            "household_no": "H1",
            "name_masked": "张*",
            "gender": "FEMALE",
            "birth_date": "1949-12-31",
            "phone_masked": "138****5678",
            "health_status": "RED",
            "elderly_living_alone": True,
            "disability_grade": None,
        },
        {
            "name_masked": ["public-security", "public-security:RB1", MS],
            "health_status": ["health", "health:1", MS + 60_000],
        },
    ),
    "community_situation": (
        "C001",
        {
            "residents": 3,
            "households": 2,
            "elderly_living_alone": 1,
            "disabled_residents": 0,
            "quarantined_households": 1,
            "pending_deliveries": 2,
            "health_status_counts": {"GREEN": 2, "RED": 1},
            "open_alerts": {"RED_STATUS": 1},
            "renovation_projects": {"P1": {"stage": "DESIGN", "percent": 10, "buildings": []}},
            "department_freshness": {"health": MS, "housing": MS - 86_400_000},
        },
        {"renovation_projects": ["housing", "housing:P1", MS]},
    ),
    "alert": (
        "A1",
        {
            "alert_type": "RED_STATUS",
            "status": "OPEN",
            "subject_kind": "PERSON",
            "subject_key": PERSON,
            "community_code": "C001",
            "opened_at": MS,
            "closed_at": None,
            "reason": "",
            "reason_code": "HEALTH_STATUS_RED",
            "reason_params": {},
        },
        {"status": ["health", "health:1", MS]},
    ),
}


@pytest.mark.parametrize("view", sorted(STORED))
def test_a_decoded_view_record_is_the_record_the_view_route_serves(serde: Serde, view: str) -> None:
    key, data, provenance = STORED[view]
    contract = serde.catalog.view(view)
    fields = {f["name"] for f in contract.parsed["fields"]}
    data = {k: v for k, v in data.items() if k in fields}  # the contract's fields only
    payload = serde.encode(contract, avro_record(contract, key, data, provenance))

    change = decode_change(serde, view, Message(2, 41, key.encode(), payload))

    served = json_record(contract.key_field, key, data, provenance)
    assert change.record is not None
    assert {k: v for k, v in change.record.items() if v is not None} == {
        k: v for k, v in served.items() if v is not None
    }
    assert (change.partition, change.offset, change.community) == (2, 41, "C001")


def test_a_tombstone_is_a_deletion_and_a_communitys_own_row_names_its_community(
    serde: Serde,
) -> None:
    profile = decode_change(serde, "resident_profile", Message(0, 7, PERSON.encode(), None))
    assert profile.deleted and profile.community is None and profile.previous_community is None
    situation = decode_change(serde, "community_situation", Message(0, 8, b"C001", None))
    assert situation.deleted and situation.previous_community == "C001"


def test_a_tombstone_stamped_with_its_community_names_where_the_row_was(serde: Serde) -> None:
    stamped = Message(1, 9, PERSON.encode(), None, [("datong_community", b"C002")])
    change = decode_change(serde, "resident_profile", stamped)
    assert change.deleted and change.previous_community == "C002"
