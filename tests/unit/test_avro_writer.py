"""The compiled Avro writer puts out exactly fastavro's bytes, faster."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import fastavro
import pytest

from schemas.avro_writer import UnsupportedSchemaError, compile_writer
from schemas.catalog import Catalog
from services.merge import records
from tests.support.demo_events import demo_events, updates_of
from tests.support.memory_views import MemoryViews

CATALOG = Catalog.load()


def fastavro_bytes(schema: Any, record: Any) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), record)
    return buf.getvalue()


def test_every_demo_source_event_encodes_to_fastavros_bytes() -> None:
    _, events = demo_events()
    checked = 0
    for event in events:
        contract = CATALOG.event(event.department, event.event)
        encode = compile_writer(contract.schema)
        assert encode(event.record) == fastavro_bytes(contract.schema, event.record), event.event
        checked += 1
    assert checked > 1000


def test_every_demo_view_record_encodes_to_fastavros_bytes() -> None:
    views = MemoryViews()
    views.merge(updates_of(demo_events()[1]))
    for view in ("resident_profile", "household", "community_situation", "alert"):
        contract = CATALOG.view(view)
        encode = compile_writer(contract.schema)
        shown = views.shown(view)
        assert shown, view
        for key, (_, data, provenance) in shown.items():
            record = records.avro_record(contract, key, data, provenance)
            # Twice: the second time the provenance comes from the writer's memory.
            assert encode(record) == fastavro_bytes(contract.schema, record), key
            assert encode(record) == fastavro_bytes(contract.schema, record), key


RECORD = {
    "type": "record",
    "name": "Probe",
    "fields": [
        {"name": "n", "type": "long"},
        {"name": "i", "type": ["null", "int"]},
        {"name": "s", "type": ["null", "string"]},
        {"name": "d", "type": ["null", "double"]},
        {"name": "b", "type": "boolean"},
        {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {
            "name": "by",
            "type": {
                "type": "map",
                "values": {
                    "type": "record",
                    "name": "Source",
                    "fields": [
                        {"name": "who", "type": "string"},
                        {"name": "when", "type": "long"},
                    ],
                },
            },
        },
        {"name": "again", "type": ["null", "Source"]},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
    ],
}


@pytest.mark.parametrize(
    "values",
    [
        {"n": 0, "i": None, "s": None, "d": None, "b": False, "day": None},
        {"n": -1, "i": 2**31 - 1, "s": "", "d": 0.1, "b": True, "day": date(1949, 12, 31)},
        {"n": 2**62, "i": -(2**31), "s": "幸福里3栋2单元502", "d": -1e300, "b": True, "day": 19000},
    ],
)
@pytest.mark.parametrize(
    "at",
    [
        datetime(2024, 6, 1, 8, 30, 15, 999_999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500, tzinfo=timezone(timedelta(hours=8))),
        datetime(2024, 6, 1, 8, 30),  # noqa: DTZ001 - no zone: taken as UTC, as fastavro does
        1_717_230_615_123,
    ],
)
def test_edge_values_encode_to_fastavros_bytes(values: dict[str, Any], at: Any) -> None:
    record = {
        **values,
        "at": at,
        "tags": ["x", "公民"] if values["b"] else [],
        "by": {"name": {"who": "health", "when": 1}, "phone": {"who": "health", "when": 1}},
        "again": {"who": "grid", "when": -5} if values["b"] else None,
        "kind": "B",
    }
    encode = compile_writer(RECORD)
    assert encode(record) == fastavro_bytes(RECORD, record)


def test_remembered_values_do_not_confuse_an_int_with_a_bool_or_a_float() -> None:
    schema = {
        "type": "record",
        "name": "Pair",
        "fields": [
            {
                "name": "inner",
                "type": {
                    "type": "record",
                    "name": "Flag",
                    "fields": [{"name": "on", "type": "boolean"}, {"name": "x", "type": "double"}],
                },
            }
        ],
    }
    encode = compile_writer(schema)
    for inner in ({"on": 1, "x": 1}, {"on": True, "x": 1.0}, {"on": 2, "x": 1.5}):
        record = {"inner": inner}
        assert encode(record) == fastavro_bytes(schema, record)
    provenance = {"type": "record", "name": "P", "fields": [{"name": "at", "type": "long"}]}
    encode = compile_writer(provenance)
    encode({"at": 1})
    with pytest.raises(TypeError):
        encode({"at": 1.0})  # equal to a remembered key, still not a long


def test_a_union_other_than_null_or_one_type_is_left_to_fastavro() -> None:
    schema = {"type": "record", "name": "U", "fields": [{"name": "v", "type": ["int", "string"]}]}
    with pytest.raises(UnsupportedSchemaError):
        compile_writer(schema)


@pytest.mark.parametrize(
    ("field", "value"),
    [("n", None), ("n", "7"), ("s", 7), ("kind", "C"), ("tags", [1])],
)
def test_a_value_of_the_wrong_type_raises_instead_of_writing(field: str, value: Any) -> None:
    record = {
        "n": 1,
        "i": None,
        "s": "x",
        "d": None,
        "b": True,
        "day": None,
        "at": 0,
        "tags": [],
        "by": {},
        "again": None,
        "kind": "A",
        field: value,
    }
    with pytest.raises((TypeError, AttributeError, KeyError, ValueError)):
        compile_writer(RECORD)(record)


STRINGS = {
    "type": "record",
    "name": "Texts",
    "fields": [
        {"name": "plain", "type": "string"},
        {"name": "optional", "type": ["null", "string"]},
    ],
}


@pytest.mark.parametrize(
    "text",
    # Either side of the lengths where a zig-zag varint grows a byte (64, 8,192 bytes), in
    # ASCII and in Chinese, whose characters are three bytes each in UTF-8.
    ["", "x", "x" * 63, "x" * 64, "x" * 65, "x" * 8191, "x" * 8192, "公" * 21, "公" * 22],
)
def test_strings_of_every_length_class_encode_to_fastavros_bytes(text: str) -> None:
    encode = compile_writer(STRINGS)
    for optional in (text, None):
        record = {"plain": text, "optional": optional}
        assert encode(record) == fastavro_bytes(STRINGS, record)


def test_an_optional_string_of_another_type_raises_instead_of_writing() -> None:
    with pytest.raises(AttributeError):
        compile_writer(STRINGS)({"plain": "x", "optional": 7})
