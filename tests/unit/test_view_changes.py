"""A view topic's record, decoded for subscribers, reads as the view route renders the row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import sqlalchemy

from schemas.catalog import Catalog
from schemas.registry import SqlRegistry
from schemas.serde import Serde
from services.api.view_changes import decode_change
from services.merge import rules
from services.merge.merge import apply, empty_row
from services.merge.records import json_record
from tests.factories import health_event

PERSON = "ab" * 32


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@pytest.fixture
def serde() -> Iterator[Serde]:
    engine = sqlalchemy.create_engine("sqlite://")
    yield Serde(Catalog.load(), SqlRegistry(engine))
    engine.dispose()


def test_a_decoded_view_record_is_the_record_the_view_route_serves(serde: Serde) -> None:
    spec = rules.RESIDENT_PROFILE
    registered = {
        "event_id": "public-security:RB1",
        "event_time": datetime(2024, 3, 1, 8, tzinfo=UTC),
        "department": "public-security",
        "person_key": PERSON,
        "name_masked": "张*",
        "gender": "FEMALE",
        "birth_date": date(1949, 12, 31),
        "phone_masked": "138****5678",
        "household_no": "H1",
        "dwelling_id": "D-1",
        "community_code": "C001",
        "address": "幸福里1号楼",
    }
    row = empty_row(PERSON)
    for name, record in [
        ("gov.public_security.ResidentRegistered", registered),
        (
            "gov.health.HealthStatusChanged",
            health_event(PERSON, "RED", datetime(2024, 3, 2, tzinfo=UTC)),
        ),
    ]:
        for update in rules.updates_for(name, record["department"], record):
            row = apply(row, update, spec.owners).row
    contract = serde.catalog.view(spec.name)
    payload = serde.encode(contract, rules.view_record(spec, row))

    change = decode_change(serde, spec.name, Message(2, 41, PERSON.encode(), payload))

    stored_provenance = {
        k: [p.department, p.event_id, p.event_time_ms] for k, p in row.provenance.items()
    }
    served = json_record(spec.name, PERSON, row.values, stored_provenance)
    assert change.record is not None
    assert {k: v for k, v in change.record.items() if v is not None} == served
    assert (change.partition, change.offset, change.community) == (2, 41, "C001")


def test_a_tombstone_is_a_deletion_and_a_communitys_own_row_names_its_community(
    serde: Serde,
) -> None:
    profile = decode_change(serde, "resident_profile", Message(0, 7, PERSON.encode(), None))
    assert profile.deleted and profile.community is None and profile.previous_community is None
    if "community_situation" in rules.VIEWS:
        situation = decode_change(serde, "community_situation", Message(0, 8, b"C001", None))
        assert situation.deleted and situation.previous_community == "C001"
