"""A pushed record is screened for personal data by its fields' classes, as a file row is."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from connectors.base import Event
from connectors.errors import RecordError
from connectors.personal_signs import pushed_class
from connectors.sources.json_contract import JsonContract
from schemas.catalog import Catalog
from tests.support.factories import resident_id, wrong_check_digit

HMAC_KEY = b"h" * 32
CATALOG = Catalog.load()
# GB 11643-1999's own example number.
VALID_ID = "11010519491231002X"
MOBILE = "13912345678"


def result_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": "T-1",
        "event_time": "2024-06-04 10:00",
        "id_number": resident_id(3, date(1961, 2, 3)),
        "test_id": "S-0001",
        "test_type": "PCR",
        "sampled_at": "2024-06-04 09:00",
        "result": "阴性",
        "lab_code": "L0101",
    }
    return {**body, **changes}


def status_change(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": "H-1",
        "event_time": "2024-06-04 10:00",
        "id_number": resident_id(4, date(1950, 1, 1)),
        "status": "RED",
    }
    return {**body, **changes}


def refusals(department: str, event: str, body: dict[str, Any]) -> dict[str, str]:
    """field -> reason code of every refusal of ``body``; the reason never holds a value."""
    result = JsonContract(CATALOG.event(department, event), HMAC_KEY).to_event(body)
    assert isinstance(result, list), result
    for error in result:
        assert all(
            str(v) not in error.reason for v in body.values() if isinstance(v, str) and len(v) > 1
        )
    return {e.field: e.code for e in result}


def accepted(department: str, event: str, body: dict[str, Any]) -> Event:
    result = JsonContract(CATALOG.event(department, event), HMAC_KEY).to_event(body)
    assert isinstance(result, Event), result
    return result


@pytest.mark.parametrize(
    ("value", "field_class", "expected"),
    [
        (VALID_ID, "code", "identifier"),
        (f"ref-{VALID_ID}", "code", "identifier"),  # an ID number anywhere, in any field
        (f"住{VALID_ID}室", "address", "identifier"),
        (wrong_check_digit(VALID_ID), "code", None),
        (MOBILE, "code", "phone"),
        ("139-1234-5678", "label", "phone"),
        (f"SF{MOBILE}0", "code", None),  # a tracking number is not a phone number
        (f"已电话联系{MOBILE}", "free_text", "phone"),  # prose is read inside
        (f"已电话联系{MOBILE}", "code", None),
        ("王义", "code", "name"),
        (" 欧阳娜娜 ", "code", "name"),
        ("王义", "label", None),  # a label (白菜) or prose may look like a name
        ("王义", "free_text", None),
        ("协和医院", "code", None),  # an organisation's ending
        ("L0101", "code", None),
        ("", "code", None),
    ],
)
def test_a_pushed_value_shows_personal_data_by_its_field_class(
    value: str, field_class: str, expected: str | None
) -> None:
    assert pushed_class(value, field_class) == expected


def test_a_name_in_a_code_field_is_refused_naming_the_field() -> None:
    assert refusals("health", "test-result-reported", result_body(lab_code="王义")) == {
        "lab_code": "personal_data"
    }


def test_a_phone_number_in_free_text_is_refused_and_the_record_says_where_it_may_go() -> None:
    body = status_change(reason=f"密接，电话{MOBILE}")
    result = JsonContract(CATALOG.event("health", "health-status-changed"), HMAC_KEY).to_event(body)
    assert isinstance(result, list)
    assert [(e.field, e.code) for e in result] == [("reason", "personal_data")]
    assert "a phone number" in result[0].reason and "free_text" in result[0].reason
    assert MOBILE not in result[0].reason


def test_an_id_number_in_any_string_field_is_refused() -> None:
    found = refusals(
        "health", "test-result-reported", result_body(test_id=VALID_ID, lab_code=f"x{VALID_ID}")
    )
    assert found == {"test_id": "personal_data", "lab_code": "personal_data"}


def test_an_event_id_that_is_a_phone_number_or_a_name_is_refused() -> None:
    assert refusals("health", "test-result-reported", result_body(event_id=MOBILE)) == {
        "event_id": "personal_data"
    }
    assert refusals("health", "test-result-reported", result_body(event_id="health:王义")) == {
        "event_id": "personal_data"
    }


def test_strings_in_arrays_are_screened_by_their_field_s_class() -> None:
    body = {
        "event_id": "R-1",
        "event_time": "2024-06-04 10:00",
        "community_code": "C001",
        "project_id": "P1",
        "buildings": ["1号楼", MOBILE],
        "stage": "CONSTRUCTION",
        "percent": 50,
        "works": "外墙",
    }
    assert refusals("housing", "renovation-progress-reported", body) == {
        "buildings[1]": "personal_data"
    }


def test_raw_personal_fields_and_pseudonymized_forms_are_not_screened() -> None:
    """id_number, name and phone are where personal data belongs: pseudonymized at the door."""
    event = accepted(
        "public-security",
        "resident-registered",
        {
            "event_id": "RB-1",
            "event_time": "2024-03-05 10:00",
            "id_number": VALID_ID,
            "name": "张三丰",
            "gender": "MALE",
            "birth_date": "1949-12-31",
            "phone": MOBILE,
            "community_code": "C001",
        },
    )
    assert event.record["name_masked"] == "张**" and event.record["phone_masked"].startswith("139")


def test_ordinary_codes_labels_and_prose_pass() -> None:
    accepted("health", "test-result-reported", result_body(lab_code="协和医院"))
    accepted("health", "health-status-changed", status_change(reason="密接，高烧不退"))
    vaccination = {
        "event_id": "V-1",
        "event_time": "2024-06-04 10:00",
        "id_number": VALID_ID,
        "vaccine": "白菜",  # a label that looks like a name is not guessed at
        "dose_number": 1,
    }
    accepted("health", "vaccination-recorded", vaccination)


def test_a_record_with_several_problems_names_each_field_once() -> None:
    found = refusals(
        "health",
        "test-result-reported",
        result_body(lab_code="王义", test_id=MOBILE, result="不详"),
    )
    assert found == {"lab_code": "personal_data", "test_id": "personal_data", "result": "bad_enum"}


def test_errors_are_record_errors_with_the_shared_reason_code() -> None:
    result = JsonContract(CATALOG.event("health", "test-result-reported"), HMAC_KEY).to_event(
        result_body(lab_code=MOBILE)
    )
    assert isinstance(result, list) and all(isinstance(e, RecordError) for e in result)
    assert {e.code for e in result} == {"personal_data"}
