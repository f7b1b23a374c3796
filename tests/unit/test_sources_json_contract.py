"""The HTTP ingest JSON contract: Avro fields, raw identity pseudonymized at the door."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.base import Event
from connectors.errors import RecordError
from connectors.identity import person_key
from connectors.sources.json_contract import JsonContract
from schemas.catalog import Catalog
from tests.support.factories import resident_id, wrong_check_digit

HMAC_KEY = b"h" * 32
CATALOG = Catalog.load()
ID = resident_id(7, date(1980, 5, 17))


def contract(department: str, event: str) -> JsonContract:
    return JsonContract(CATALOG.event(department, event), HMAC_KEY)


def registration(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": "RB-1",
        "event_time": "2024-03-05T10:00:00+08:00",
        "id_number": ID,
        "name": "张三丰",
        "gender": "MALE",
        "birth_date": "1980-05-17",
        "phone": "13812345678",
        "community_code": "C001",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def errors_of(result: Event | list[RecordError]) -> dict[str, str]:
    assert isinstance(result, list), result
    return {e.field: e.code for e in result}


def test_raw_identity_fields_become_person_key_and_masked_values() -> None:
    event = contract("public-security", "resident-registered").to_event(registration())
    assert isinstance(event, Event)
    assert event.key == person_key(ID, HMAC_KEY) == event.record["person_key"]
    assert event.record["name_masked"] == "张**"
    assert event.record["phone_masked"] == "138****5678"
    assert event.record["event_id"] == "public-security:RB-1"
    assert event.record["department"] == "public-security"
    assert event.record["event_time"] == datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
    assert event.record["birth_date"] == date(1980, 5, 17)
    assert event.record["dwelling_id"] is None  # optional and left out
    assert ID not in repr(event.record) and "张三丰" not in repr(event.record)


def test_a_time_without_offset_is_china_time_and_an_event_id_is_namespaced_once() -> None:
    body = registration(event_time="2024-03-05T10:00:00", event_id="public-security:RB-9")
    event = contract("public-security", "resident-registered").to_event(body)
    assert isinstance(event, Event)
    assert event.record["event_time"] == datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
    assert event.event_id == "public-security:RB-9"


def test_every_bad_field_is_reported_without_its_value() -> None:
    body = registration(
        id_number=wrong_check_digit(ID),
        gender="未说明",
        event_time="昨天",
        birth_date="1980-02-30",
        community_code=None,
        nickname="小张",
        event_id=...,
    )
    result = contract("public-security", "resident-registered").to_event(body)
    assert errors_of(result) == {
        "id_number": "invalid_id",
        "gender": "bad_enum",
        "event_time": "bad_date",
        "birth_date": "bad_date",
        "community_code": "missing_field",
        "nickname": "unknown_field",
        "event_id": "missing_field",
    }
    assert isinstance(result, list)
    assert all(ID[:17] not in e.reason and "昨天" not in e.reason for e in result)


def test_raw_values_in_pseudonymized_fields_are_refused() -> None:
    body = registration(id_number=..., person_key=ID, name=..., name_masked="张三丰")
    result = contract("public-security", "resident-registered").to_event(body)
    assert errors_of(result) == {
        "person_key": "not_pseudonymized",
        "name_masked": "not_pseudonymized",
    }


def test_a_pseudonymized_person_key_may_be_sent_as_such() -> None:
    body = {
        "event_id": "H-1",
        "event_time": "2024-03-05T10:00:00+08:00",
        "person_key": person_key(ID, HMAC_KEY),
        "status": "RED",
    }
    event = contract("health", "health-status-changed").to_event(body)
    assert isinstance(event, Event) and event.record["reason"] is None


def test_free_text_with_an_id_number_or_a_formula_is_refused() -> None:
    health = contract("health", "health-status-changed")
    base = {"event_id": "H-2", "event_time": "2024-03-05T10:00:00+08:00", "id_number": ID}
    leak = health.to_event({**base, "status": "RED", "reason": f"密接 {ID}"})
    formula = health.to_event({**base, "status": "RED", "reason": '=HYPERLINK("x")'})
    assert errors_of(leak) == {"reason": "personal_data"}
    assert errors_of(formula) == {"reason": "formula"}


def test_numbers_booleans_and_arrays_are_type_checked() -> None:
    renovation = contract("housing", "renovation-progress-reported")
    names = CATALOG.event("housing", "renovation-progress-reported").field_names
    assert "buildings" in names and "percent" in names
    result = renovation.to_event(
        {
            "event_id": "R-1",
            "event_time": "2024-03-05T10:00:00+08:00",
            "community_code": "C001",
            "project_id": "P1",
            "buildings": ["1号楼", 2],
            "stage": "STARTED",
            "percent": "50",
            "works": "外墙",
        }
    )
    found = errors_of(result)
    assert found["buildings[1]"] == "bad_type"
    assert found["percent"] == "bad_type"


@pytest.mark.parametrize("department", ["health", "public-security"])
def test_a_department_field_naming_another_department_is_refused(department: str) -> None:
    result = contract("public-security", "resident-registered").to_event(
        registration(department="health" if department == "health" else "public-security")
    )
    if department == "health":
        assert errors_of(result) == {"department": "bad_value"}
    else:
        assert isinstance(result, Event)
