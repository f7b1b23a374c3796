"""Compatibility levels over avro's checker: what each level accepts, and reasons naming fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.catalog import Catalog
from schemas.compat import (
    LEVELS,
    InvalidSchemaTextError,
    UnknownLevelError,
    check,
    incompatibilities,
)


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "doc": f"{name}.", **extra}


def optional(name: str, type_: Any) -> dict[str, Any]:
    return field(name, ["null", type_], default=None)


def record(*fields: dict[str, Any], name: str = "Reading") -> str:
    return json.dumps(
        {"type": "record", "name": name, "namespace": "gov.test", "fields": list(fields)}
    )


BASE = record(field("event_id", "string"), field("litres", "long"))


def only_reason(reasons: list[str]) -> str:
    assert len(reasons) == 1, reasons
    return reasons[0]


# --- evolution the levels accept ----------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_adding_an_optional_field_with_a_default_is_accepted_at_every_level(level: str) -> None:
    evolved = record(
        field("event_id", "string"), field("litres", "long"), optional("note", "string")
    )
    assert check(evolved, [BASE], level) == []


@pytest.mark.parametrize("level", LEVELS)
def test_an_unchanged_schema_is_compatible_at_every_level(level: str) -> None:
    assert check(BASE, [BASE, BASE], level) == []


@pytest.mark.parametrize("level", LEVELS)
def test_the_first_version_of_a_subject_is_always_compatible(level: str) -> None:
    assert check(BASE, [], level) == []


def test_none_accepts_any_change() -> None:
    assert check(record(field("other", "int"), name="Other"), [BASE], "NONE") == []


def test_widening_int_to_long_is_backward_but_not_forward() -> None:
    old = record(field("floor", "int"))
    new = record(field("floor", "long"))
    assert check(new, [old], "BACKWARD") == []
    reason = only_reason(check(new, [old], "FORWARD"))
    assert "field 'floor'" in reason
    assert "FORWARD" in reason


def test_removing_a_field_is_backward_compatible() -> None:
    assert check(record(field("event_id", "string")), [BASE], "BACKWARD") == []


def test_removing_a_field_that_has_a_default_is_fully_compatible() -> None:
    old = record(field("event_id", "string"), optional("note", "string"))
    assert check(record(field("event_id", "string")), [old], "FULL_TRANSITIVE") == []


def test_a_rename_with_the_old_name_as_alias_is_backward_compatible() -> None:
    renamed = record(field("event_id", "string"), field("volume", "long", aliases=["litres"]))
    assert check(renamed, [BASE], "BACKWARD") == []


# --- refused changes name the field and the rule -------------------------------------------


@pytest.mark.parametrize("level", ["FORWARD", "FULL", "FORWARD_TRANSITIVE", "FULL_TRANSITIVE"])
def test_removing_a_field_without_a_default_is_refused_naming_it(level: str) -> None:
    reason = only_reason(check(record(field("event_id", "string")), [BASE], level))
    assert "field 'litres'" in reason
    assert "removed" in reason
    assert level in reason


def test_renaming_a_field_without_an_alias_is_refused_naming_the_new_field() -> None:
    renamed = record(field("event_id", "string"), field("volume", "long"))
    reason = only_reason(check(renamed, [BASE], "BACKWARD"))
    assert "field 'volume'" in reason
    assert "without a default" in reason
    assert "BACKWARD" in reason


def test_renaming_without_an_alias_under_full_names_both_names() -> None:
    renamed = record(field("event_id", "string"), field("volume", "long"))
    found = incompatibilities(renamed, [BASE], "FULL")
    assert {(i.field, i.direction) for i in found} == {
        ("volume", "backward"),
        ("litres", "forward"),
    }


def test_adding_a_required_field_is_refused_under_backward() -> None:
    added = record(field("event_id", "string"), field("litres", "long"), field("meter", "string"))
    reason = only_reason(check(added, [BASE], "BACKWARD"))
    assert "field 'meter'" in reason


@pytest.mark.parametrize("level", ["BACKWARD", "FULL", "BACKWARD_TRANSITIVE", "FULL_TRANSITIVE"])
def test_narrowing_long_to_int_is_refused_naming_the_field_and_types(level: str) -> None:
    narrowed = record(field("event_id", "string"), field("litres", "int"))
    reason = only_reason(check(narrowed, [BASE], level))
    assert "field 'litres'" in reason
    assert "int" in reason
    assert "long" in reason
    assert level in reason


def test_narrowing_inside_an_optional_field_names_the_field() -> None:
    old = record(optional("rooms", "long"))
    reason = only_reason(check(record(optional("rooms", "int")), [old], "BACKWARD"))
    assert "field 'rooms'" in reason


def test_making_an_optional_field_required_names_the_field() -> None:
    old = record(field("event_id", "string"), optional("note", "string"))
    required = record(field("event_id", "string"), field("note", "string"))
    reason = only_reason(check(required, [old], "BACKWARD"))
    assert "field 'note'" in reason


def test_a_change_inside_a_nested_record_names_the_dotted_path() -> None:
    def with_city(type_: str) -> str:
        address = {"type": "record", "name": "Address", "fields": [field("city", type_)]}
        return record(field("address", address))

    reason = only_reason(check(with_city("int"), [with_city("string")], "BACKWARD"))
    assert "field 'address.city'" in reason


def test_a_change_inside_map_values_names_the_path() -> None:
    def with_values(type_: str) -> str:
        order = {"type": "record", "name": "Order", "fields": [field("ends_at", type_)]}
        return record(field("orders", {"type": "map", "values": order}))

    reason = only_reason(check(with_values("int"), [with_values("long")], "BACKWARD"))
    assert "field 'orders{}.ends_at'" in reason


def test_removing_an_enum_symbol_is_refused_naming_the_field_and_the_symbol() -> None:
    def status(*symbols: str) -> str:
        return record(field("status", {"type": "enum", "name": "Status", "symbols": list(symbols)}))

    reason = only_reason(
        check(status("GREEN", "YELLOW"), [status("GREEN", "YELLOW", "RED")], "BACKWARD")
    )
    assert "field 'status'" in reason
    assert "RED" in reason


def test_renaming_the_record_is_refused_naming_both_names() -> None:
    reason = only_reason(
        check(
            record(field("event_id", "string"), field("litres", "long"), name="Meter"),
            [BASE],
            "BACKWARD",
        )
    )
    assert "gov.test.Meter" in reason
    assert "gov.test.Reading" in reason


def test_every_problem_of_one_change_is_reported() -> None:
    broken = record(field("event_id", "int"), field("litres", "int"), field("meter", "string"))
    assert {i.field for i in incompatibilities(broken, [BASE], "BACKWARD")} == {
        "event_id",
        "litres",
        "meter",
    }


# --- transitive levels look at every earlier version ---------------------------------------

V1 = record(field("event_id", "string"), field("reading", "string"))
V2 = record(field("event_id", "string"))  # dropped "reading": readable back and forth with v1
V3 = record(field("event_id", "string"), field("reading", "long", default=0))  # reads v2, not v1


def test_backward_checks_only_the_latest_version() -> None:
    assert check(V3, [V1, V2], "BACKWARD") == []


def test_backward_transitive_checks_every_earlier_version() -> None:
    found = incompatibilities(V3, [V1, V2], "BACKWARD_TRANSITIVE")
    assert [(i.version, i.field) for i in found] == [(1, "reading")]
    assert "version 1" in str(found[0])


def test_forward_transitive_checks_every_earlier_version() -> None:
    v1 = record(field("event_id", "string"), field("reading", "long"))
    v2 = record(field("event_id", "string"), field("reading", "long", default=0))
    v3 = record(field("event_id", "string"))  # v2 reads it (default), v1 cannot
    assert check(v3, [v1, v2], "FORWARD") == []
    found = incompatibilities(v3, [v1, v2], "FORWARD_TRANSITIVE")
    assert [(i.version, i.field, i.direction) for i in found] == [(1, "reading", "forward")]


def test_full_transitive_checks_both_directions_against_every_version() -> None:
    assert check(V3, [V1, V2], "FULL") == []
    found = incompatibilities(V3, [V1, V2], "FULL_TRANSITIVE")
    assert {(i.version, i.direction) for i in found} == {(1, "backward"), (1, "forward")}


def test_versions_in_reasons_are_the_subjects_version_numbers() -> None:
    found = incompatibilities(V3, [V1, V2], "BACKWARD_TRANSITIVE", versions=[4, 7])
    assert [i.version for i in found] == [4]
    assert "version 4" in str(found[0])


# --- bad input -----------------------------------------------------------------------------


def test_an_unknown_level_is_refused_listing_the_valid_ones() -> None:
    with pytest.raises(UnknownLevelError, match="FULL_TRANSITIVE"):
        check(BASE, [BASE], "SIDEWAYS")


@pytest.mark.parametrize("text", ["{not json", '{"type": "record", "name": "R"}', '"nothing"'])
def test_an_invalid_schema_is_refused(text: str) -> None:
    with pytest.raises(InvalidSchemaTextError):
        check(text, [BASE], "BACKWARD")


def nested_records(depth: int) -> str:
    """A record holding a record ... ``depth`` records deep, as JSON text."""
    opening = "".join(
        f'{{"type": "record", "name": "R{i}", "fields": [{{"name": "f", "type": '
        for i in range(depth)
    )
    return opening + '"string"' + "}]}" * depth


def test_records_nested_a_dozen_deep_are_a_schema_like_any_other() -> None:
    assert check(nested_records(12), [nested_records(12)], "FULL_TRANSITIVE") == []


@pytest.mark.parametrize("depth", [50, 300, 20_000])
def test_a_schema_nested_deeper_than_any_contract_is_refused_cheaply(depth: int) -> None:
    # avro's own refusal of such a text nests each level's repr in the next: depth x size.
    with pytest.raises(InvalidSchemaTextError, match="nested deeper than 64 levels"):
        check(nested_records(depth), [BASE], "BACKWARD")


def test_every_catalog_contract_is_fully_compatible_with_itself() -> None:
    for contract in Catalog.load():
        assert check(contract.schema_text, [contract.schema_text], "FULL_TRANSITIVE") == []
