"""Confluent-framed Avro: framing, field-level encode errors, decode errors, old writers."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest
import sqlalchemy

from schemas.catalog import Catalog, Contract
from schemas.errors import DecodeError, EncodeError, SchemaError
from schemas.serde import MAGIC, Serde
from services.store.registry_store import SqlRegistry
from tests.support.factories import health_event
from tests.support.stores import embedded_registry

PERSON = "5f2c" * 16
AT = datetime(2024, 3, 5, 2, 0, 0, 125_000, tzinfo=UTC)
ID_NUMBER = "11010519491231002X"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def registry() -> Iterator[SqlRegistry]:
    engine = sqlalchemy.create_engine("sqlite://")
    yield embedded_registry(engine)
    engine.dispose()


@pytest.fixture
def serde(catalog: Catalog, registry: SqlRegistry) -> Serde:
    return Serde(catalog, registry)


@pytest.fixture
def health(catalog: Catalog) -> Contract:
    return catalog.by_name("gov.health.HealthStatusChanged")


def status_event(**changes: Any) -> dict[str, Any]:
    return {**health_event(PERSON, "YELLOW", AT), **changes}


def reduced_schema(contract: Contract, drop: set[str]) -> dict[str, Any]:
    """An older version of ``contract``: the same record without the fields in ``drop``."""
    schema: dict[str, Any] = json.loads(contract.schema_text)
    schema["fields"] = [f for f in schema["fields"] if f["name"] not in drop]
    return schema


def framed(schema_id: int, schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    """What another producer writing ``schema`` under ``schema_id`` puts on the topic."""
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), record)
    return buf.getvalue()


def encode_error(serde: Serde, contract: Contract, record: dict[str, Any]) -> EncodeError:
    with pytest.raises(EncodeError) as caught:
        serde.encode(contract, record)
    return caught.value


# --- round trip and framing --------------------------------------------------------------


def test_a_record_round_trips(serde: Serde, health: Contract) -> None:
    record = status_event(reason="contact tracing")
    assert serde.decode(health, serde.encode(health, record)) == record


def test_the_frame_is_magic_zero_then_the_schema_id_big_endian(
    serde: Serde, health: Contract, registry: SqlRegistry
) -> None:
    payload = serde.encode(health, status_event())
    schema_id = registry.register(health.value_subject, health.schema_text)
    assert payload[0] == MAGIC == 0
    assert payload[1:5] == schema_id.to_bytes(4, "big")
    assert json.loads(registry.schema_text(schema_id)) == health.schema


def test_the_body_after_the_frame_is_plain_avro(serde: Serde, health: Contract) -> None:
    payload = serde.encode(health, status_event())
    body = fastavro.schemaless_reader(io.BytesIO(payload[5:]), health.parsed, None)
    assert body == status_event()


def test_each_contract_gets_its_own_schema_id(serde: Serde, catalog: Catalog) -> None:
    ids = {serde.schema_id(c) for c in catalog}
    assert len(ids) == len(list(catalog))


def test_the_schema_id_is_stable_across_serde_instances(
    catalog: Catalog, registry: SqlRegistry, health: Contract
) -> None:
    assert Serde(catalog, registry).schema_id(health) == Serde(catalog, registry).schema_id(health)


def test_another_serde_on_the_same_registry_decodes_the_bytes(
    catalog: Catalog, registry: SqlRegistry, health: Contract
) -> None:
    payload = Serde(catalog, registry).encode(health, status_event())
    assert Serde(catalog, registry).decode(health, payload) == status_event()


# --- encode errors -----------------------------------------------------------------------


def test_a_wrong_enum_symbol_names_the_field_not_the_value(serde: Serde, health: Contract) -> None:
    error = encode_error(serde, health, status_event(status="PURPLE"))
    assert error.field == "status"
    assert "status" in str(error)
    assert "PURPLE" not in str(error)


@pytest.mark.parametrize("field", ["event_id", "person_key", "status", "event_time"])
def test_none_in_a_required_field_names_the_field(
    serde: Serde, health: Contract, field: str
) -> None:
    error = encode_error(serde, health, status_event(**{field: None}))
    assert error.field == field
    assert field in str(error)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("person_key", int(ID_NUMBER[:17])),
        ("event_time", ID_NUMBER),
        ("reason", int(ID_NUMBER[:17])),
        ("status", ID_NUMBER),
    ],
)
def test_an_encode_error_never_repeats_the_offending_value(
    serde: Serde, health: Contract, field: str, value: object
) -> None:
    error = encode_error(serde, health, status_event(**{field: value}))
    assert error.field == field
    assert ID_NUMBER[:17] not in str(error)
    assert ID_NUMBER[:17] not in error.field


def test_check_reports_the_same_field_without_encoding(serde: Serde, health: Contract) -> None:
    with pytest.raises(EncodeError) as caught:
        serde.check(health, status_event(status="PURPLE"))
    assert caught.value.field == "status"


def test_encode_errors_are_schema_errors(serde: Serde, health: Contract) -> None:
    assert isinstance(encode_error(serde, health, status_event(status="PURPLE")), SchemaError)


# --- decode errors -----------------------------------------------------------------------


@pytest.mark.parametrize("magic", [1, 0x7B, 0xFF])
def test_a_wrong_magic_byte_is_a_decode_error(serde: Serde, health: Contract, magic: int) -> None:
    payload = bytearray(serde.encode(health, status_event()))
    payload[0] = magic
    with pytest.raises(DecodeError, match=health.topic):
        serde.decode(health, bytes(payload))


@pytest.mark.parametrize("payload", [b"", b"\x00", b"\x00\x00\x00\x01"])
def test_a_payload_shorter_than_the_frame_is_a_decode_error(
    serde: Serde, health: Contract, payload: bytes
) -> None:
    with pytest.raises(DecodeError):
        serde.decode(health, payload)


def test_plain_json_on_the_topic_is_a_decode_error(serde: Serde, health: Contract) -> None:
    with pytest.raises(DecodeError):
        serde.decode(health, b'{"event_id": "e-1"}')


def test_a_truncated_body_is_a_decode_error(serde: Serde, health: Contract) -> None:
    payload = serde.encode(health, status_event())
    with pytest.raises(DecodeError):
        serde.decode(health, payload[:-3])


# --- schema evolution --------------------------------------------------------------------


def test_a_record_from_an_older_writer_decodes_with_defaults_filled_in(
    serde: Serde, registry: SqlRegistry, health: Contract
) -> None:
    old = reduced_schema(health, {"reason"})
    old_id = registry.register(health.value_subject, json.dumps(old))
    assert old_id != serde.schema_id(health)
    record = status_event()
    del record["reason"]
    decoded = serde.decode(health, framed(old_id, old, record))
    assert decoded == {**record, "reason": None}


def test_an_older_writer_decodes_before_the_current_schema_is_registered(
    catalog: Catalog, registry: SqlRegistry, health: Contract
) -> None:
    old = reduced_schema(health, {"reason"})
    old_id = registry.register(health.value_subject, json.dumps(old))
    record = status_event()
    del record["reason"]
    fresh = Serde(catalog, registry)
    assert fresh.decode(health, framed(old_id, old, record)) == {**record, "reason": None}


def test_an_older_view_record_gains_its_map_and_optional_defaults(
    serde: Serde, registry: SqlRegistry, catalog: Catalog
) -> None:
    view = catalog.view("resident_profile")
    added = {
        "elderly_living_alone",
        "disability_grade",
        "subsistence_allowance",
        "latest_test_result",
        "latest_test_at",
        "vaccination_doses",
        "last_vaccinated_at",
    }
    old = reduced_schema(view, {"health_status", "phone_masked", "provenance", *added})
    old_id = registry.register(view.value_subject, json.dumps(old))
    record = {
        "person_key": PERSON,
        "community_code": "C001",
        "dwelling_id": "D-0001",
        "address": None,
        "household_no": "H0001",
        "name_masked": "张*",
        "gender": "FEMALE",
        "birth_date": None,
    }
    decoded = serde.decode(view, framed(old_id, old, record))
    defaults = dict.fromkeys(["phone_masked", "health_status", *added])
    assert decoded == {**record, **defaults, "provenance": {}}


def test_registering_the_same_schema_again_keeps_its_id(
    registry: SqlRegistry, health: Contract
) -> None:
    first = registry.register(health.value_subject, health.schema_text)
    assert registry.register(health.value_subject, health.schema_text) == first
