"""The JSON Schema of each event says what the HTTP intake reads: a validator (jsonschema)
and the intake give the same verdict on every field of every event for values of every kind.

Left out, as no JSON Schema can state them: an ID number's check digit, strings holding
personal data where their field does not take it (an ID or a phone number, a name in a code
field: refused with ``personal_data``, and set aside below), strings starting like a
formula, and days that do not exist.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from connectors.base import Event
from connectors.sources.json_contract import JsonContract
from schemas.catalog import Catalog, Contract
from schemas.ingest_schema import body_schema, ingest_schema, standalone
from tests.support.ingest_records import valid_record

KEY = b"k" * 32
CATALOG = Catalog.load()
SOURCES = CATALOG.sources()
VALUES: list[Any] = [
    None,
    "",
    "x",
    " ",
    "a" * 4097,
    0,
    -1,
    2**31,
    2**63,
    1.5,
    True,
    False,
    "是",
    "否",
    "maybe",
    "POSITIVE",
    "阳性",
    "GREEN",
    "绿码",
    "MALE",
    "男",
    "2024-03-05",
    "2024-03-05 10:00",
    "2024-03-05T10:00:00+08:00",
    "2024年3月5日",
    "20240305",
    "1717466400000",
    1717466400000,
    "昨天",
    "2024-03-05 10:00 +0800",
    [],
    ["x"],
    {},
    "0" * 64,
    "张*",
    "138****5678",
    "13812345678",
]


def validator(contract: Contract) -> jsonschema.Draft202012Validator:
    schema = ingest_schema(contract)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def intake_reads(contract: Contract, record: dict[str, Any]) -> bool:
    return isinstance(JsonContract(contract, KEY).to_event(record), Event)


def refused_only_as_personal(contract: Contract, record: dict[str, Any]) -> bool:
    """Whether the intake's only objection is personal data, which no JSON Schema sees."""
    result = JsonContract(contract, KEY).to_event(record)
    return isinstance(result, list) and {e.code for e in result} == {"personal_data"}


@pytest.mark.parametrize("contract", SOURCES, ids=lambda c: c.topic)
def test_a_plain_record_of_every_event_fits_its_schema_and_the_intake(contract: Contract) -> None:
    record = valid_record(contract)
    assert validator(contract).is_valid(record), list(validator(contract).iter_errors(record))
    assert intake_reads(contract, record)


@pytest.mark.parametrize("contract", SOURCES, ids=lambda c: c.topic)
def test_the_schema_and_the_intake_agree_on_every_value_of_every_field(
    contract: Contract,
) -> None:
    check = validator(contract)
    base = valid_record(contract)
    names = [*contract.field_names, "id_number", "name", "phone", "nickname"]
    disagreements = []
    for name in names:
        for value in [*VALUES, ...]:
            record = {k: v for k, v in base.items() if k != name}
            if value is not ...:
                record[name] = value
            if name in ("person_key", "id_number") and "person_key" in contract.field_names:
                other = "id_number" if name == "person_key" else "person_key"
                record.pop(other, None)
            by_schema, by_intake = check.is_valid(record), intake_reads(contract, record)
            if by_schema != by_intake and not refused_only_as_personal(contract, record):
                disagreements.append((name, value, by_schema, by_intake))
    assert not disagreements


def test_an_enum_takes_its_symbols_and_the_contract_s_words() -> None:
    schema = ingest_schema(CATALOG.event("health", "test-result-reported"))
    taken = [e for branch in schema["properties"]["result"]["anyOf"] for e in branch["enum"]]
    assert {"POSITIVE", "NEGATIVE", "INCONCLUSIVE", "阳性", "阴性"} <= set(taken)


def test_a_body_is_one_record_or_a_bounded_array_of_them() -> None:
    contract = CATALOG.event("health", "health-status-changed")
    body = standalone(body_schema(ingest_schema(contract), max_records=2), "urn:test")
    check = jsonschema.Draft202012Validator(body)
    record = valid_record(contract)
    assert check.is_valid(record) and check.is_valid([record, record])
    assert not check.is_valid([]) and not check.is_valid([record] * 3)
    assert body["$schema"].endswith("2020-12/schema")
