"""The department and view contracts (issue 3, item 1), stated as checks on the catalog."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy

from schemas.catalog import Catalog, Contract
from schemas.serde import MAGIC, Serde
from tests.support.stores import embedded_registry

Schema = Any  # a parsed Avro schema: a type name, a union list, or a JSON object

EXPECTED_TOPICS: dict[str, set[str]] = {
    "public-security": {
        "src.public-security.resident-registered",
        "src.public-security.resident-moved",
        "src.public-security.resident-deregistered",
    },
    "health": {
        "src.health.health-status-changed",
        "src.health.vaccination-recorded",
        "src.health.test-result-reported",
        "src.health.quarantine-ordered",
        "src.health.quarantine-lifted",
    },
    "civil-affairs": {
        "src.civil-affairs.care-need-assessed",
        "src.civil-affairs.care-visit-logged",
    },
    "housing": {
        "src.housing.dwelling-registered",
        "src.housing.renovation-progress-reported",
    },
    "grid": {
        "src.grid.grid-report-filed",
        "src.grid.task-assigned",
        "src.grid.task-completed",
    },
    "commerce": {
        "src.commerce.delivery-requested",
        "src.commerce.delivery-fulfilled",
        "src.commerce.supply-stock-reported",
    },
    "utilities": {"src.utilities.meter-reading"},
}

EXPECTED_VIEW_TOPICS = {
    "view.resident_profile",
    "view.household",
    "view.community_situation",
    "view.alert",
}

# The message key of every topic: the field whose value partitions it.
EXPECTED_KEYS: dict[str, str] = {
    "src.public-security.resident-registered": "person_key",
    "src.public-security.resident-moved": "person_key",
    "src.public-security.resident-deregistered": "person_key",
    "src.health.health-status-changed": "person_key",
    "src.health.vaccination-recorded": "person_key",
    "src.health.test-result-reported": "person_key",
    "src.health.quarantine-ordered": "person_key",
    "src.health.quarantine-lifted": "person_key",
    "src.civil-affairs.care-need-assessed": "person_key",
    "src.civil-affairs.care-visit-logged": "person_key",
    "src.housing.dwelling-registered": "dwelling_id",
    "src.housing.renovation-progress-reported": "community_code",
    "src.grid.grid-report-filed": "community_code",
    "src.grid.task-assigned": "community_code",
    "src.grid.task-completed": "community_code",
    "src.commerce.delivery-requested": "dwelling_id",
    "src.commerce.delivery-fulfilled": "dwelling_id",
    "src.commerce.supply-stock-reported": "community_code",
    "src.utilities.meter-reading": "dwelling_id",
    "view.resident_profile": "person_key",
    "view.household": "dwelling_id",
    "view.community_situation": "community_code",
    "view.alert": "alert_id",
}

EXPECTED_ENUMS: dict[str, tuple[str, ...]] = {
    "gov.common.Gender": ("MALE", "FEMALE", "UNKNOWN"),
    "gov.common.HealthStatus": ("GREEN", "YELLOW", "RED"),
    "gov.common.QuarantineKind": ("HOME", "CENTRALIZED"),
    "gov.common.DisabilityGrade": ("NONE", "GRADE_1", "GRADE_2", "GRADE_3", "GRADE_4"),
    "gov.common.RenovationStage": (
        "PLANNED",
        "DESIGN",
        "TENDERING",
        "CONSTRUCTION",
        "ACCEPTANCE",
        "COMPLETED",
    ),
    "gov.common.AlertType": (
        "WELFARE_CHECK",
        "ISOLATION_RISK",
        "QUARANTINE_DELIVERY",
        "RED_STATUS",
    ),
    "gov.public_security.DeregistrationReason": ("DEATH", "MOVED_AWAY", "ERASURE_REQUEST", "OTHER"),
    "gov.health.TestType": ("PCR", "ANTIGEN", "ANTIBODY", "OTHER"),
    "gov.health.TestResult": ("POSITIVE", "NEGATIVE", "INCONCLUSIVE"),
    "gov.views.LatestTestResult": ("POSITIVE", "NEGATIVE", "INCONCLUSIVE"),
    "gov.health.QuarantineOutcome": ("COMPLETED", "TRANSFERRED_TO_HOSPITAL", "CANCELLED", "OTHER"),
    "gov.civil_affairs.CareVisitKind": ("HOME_VISIT", "PHONE_CALL", "VIDEO_CALL", "OTHER"),
    "gov.civil_affairs.CareVisitOutcome": (
        "WELL",
        "NEEDS_FOLLOW_UP",
        "NOT_REACHED",
        "REFERRED_TO_SERVICES",
    ),
    "gov.grid.GridReportKind": ("INSPECTION", "INCIDENT", "VISIT"),
    "gov.grid.GridTaskKind": ("ALERT_RESPONSE", "INSPECTION", "VISIT", "SERVICE", "OTHER"),
    "gov.grid.TaskOutcome": ("DONE", "UNABLE_TO_COMPLETE", "CANCELLED"),
    "gov.commerce.DeliveryOutcome": ("DELIVERED", "LEFT_AT_DOOR", "CANCELLED"),
    "gov.utilities.MeterKind": ("WATER", "ELECTRICITY"),
    "gov.utilities.MeterUnit": ("CUBIC_METRE", "KILOWATT_HOUR"),
    "gov.views.AlertReason": (
        "NO_WATER_USE",
        "NO_SEPARATE_ROOM",
        "DELIVERY_NOT_FULFILLED",
        "HEALTH_STATUS_RED",
    ),
    "gov.views.AlertStatus": ("OPEN", "CLOSED"),
    "gov.views.AlertSubjectKind": ("PERSON", "DWELLING"),
}

ALL_TOPICS = sorted(EXPECTED_KEYS)
SOURCE_TOPICS = sorted(t for t in EXPECTED_KEYS if t.startswith("src."))

PERSONAL_DATA = re.compile(r"id_?(number|no|card)|identity|passport|name|phone|mobile|(^|_)tel$")
CLOSED_SET_NAME = re.compile(r"(^|_)(kind|status|stage|result|outcome|type|grade)$")
TIME_NAME = re.compile(r"(_at|^event_time)$")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def serde(catalog: Catalog) -> Iterator[Serde]:
    engine = sqlalchemy.create_engine("sqlite://")
    yield Serde(catalog, embedded_registry(engine))
    engine.dispose()


# --- walking schemas ---------------------------------------------------------------------


def named_types(schema: Schema, namespace: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every record and enum defined in ``schema``, with its full name."""
    if isinstance(schema, list):
        for branch in schema:
            yield from named_types(branch, namespace)
        return
    if not isinstance(schema, dict):
        return
    kind = schema["type"]
    if kind in ("record", "enum"):
        namespace = schema.get("namespace", namespace)
        yield f"{namespace}.{schema['name']}", schema
    if kind == "record":
        for field in schema["fields"]:
            yield from named_types(field["type"], namespace)
    elif kind == "array":
        yield from named_types(schema["items"], namespace)
    elif kind == "map":
        yield from named_types(schema["values"], namespace)


def all_fields(contract: Contract) -> Iterator[tuple[str, dict[str, Any]]]:
    """(record full name, field) for every field of every record in the contract."""
    for full_name, named in named_types(contract.schema):
        if named["type"] == "record":
            for field in named["fields"]:
                yield full_name, field


def non_null(schema: Schema, names: dict[str, dict[str, Any]]) -> list[Schema]:
    """The branches of a (possibly union) type other than null, named types resolved."""
    branches = schema if isinstance(schema, list) else [schema]
    return [names.get(b, b) if isinstance(b, str) else b for b in branches if b != "null"]


def logical(schema: Schema) -> str | None:
    return schema.get("logicalType") if isinstance(schema, dict) else None


def kind_of(schema: Schema) -> str:
    return str(schema["type"]) if isinstance(schema, dict) else str(schema)


# --- sample records ----------------------------------------------------------------------

WHEN = datetime(2024, 3, 1, 8, 30, 15, 250_000, tzinfo=UTC)  # whole milliseconds
DAY = date(1948, 5, 17)
LOGICAL_SAMPLES: dict[str, Any] = {"timestamp-millis": WHEN, "date": DAY}
PRIMITIVES: dict[str, Callable[[str], Any]] = {
    "string": lambda name: f"{name}-7f3a",
    "int": lambda _: 3,
    "long": lambda _: 125_000,
    "double": lambda _: 2.5,
    "boolean": lambda _: True,
}


def sample(contract: Contract, *, optional: bool = True) -> dict[str, Any]:
    """A valid record of ``contract``; with ``optional=False`` every defaulted field is default."""
    names = dict(named_types(contract.schema))
    record = _record(contract.schema, names, optional)
    if contract.department is not None:
        record["department"] = contract.department
    return record


def _record(schema: dict[str, Any], names: dict[str, Any], optional: bool) -> dict[str, Any]:
    return {
        field["name"]: copy.deepcopy(field["default"])
        if not optional and "default" in field
        else _value(field["type"], field["name"], names, optional)
        for field in schema["fields"]
    }


def _value(schema: Schema, name: str, names: dict[str, Any], optional: bool) -> Any:
    schema = non_null(schema, names)[0]
    kind = logical(schema) or kind_of(schema)
    if kind in LOGICAL_SAMPLES:
        return LOGICAL_SAMPLES[kind]
    if kind == "record":
        return _record(schema, names, optional)
    if kind == "enum":
        return schema["symbols"][-1]
    if kind == "array":
        return [_value(schema["items"], name, names, optional)]
    if kind == "map":
        return {"k-1": _value(schema["values"], name, names, optional)}
    return PRIMITIVES[kind](name)


# --- topics and keys ---------------------------------------------------------------------


def test_catalog_holds_every_department_and_view_and_nothing_else(catalog: Catalog) -> None:
    assert catalog.departments() == sorted(EXPECTED_TOPICS)
    assert {c.topic for c in catalog} == set(EXPECTED_KEYS)


@pytest.mark.parametrize("department", sorted(EXPECTED_TOPICS))
def test_each_department_publishes_one_topic_per_event_type(
    catalog: Catalog, department: str
) -> None:
    assert {c.topic for c in catalog.sources(department)} == EXPECTED_TOPICS[department]


def test_the_four_views_are_published_on_view_topics(catalog: Catalog) -> None:
    assert {c.topic for c in catalog.views()} == EXPECTED_VIEW_TOPICS
    assert all(c.full_name.startswith("gov.views.") for c in catalog.views())


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_each_contract_is_keyed_by_a_required_string_subject_field(
    catalog: Catalog, topic: str
) -> None:
    contract = catalog.by_topic(topic)
    assert contract.key_field == EXPECTED_KEYS[topic]
    key = next(f for f in contract.schema["fields"] if f["name"] == contract.key_field)
    assert key["type"] == "string", "the key is the message key, a UTF-8 string, never null"


@pytest.mark.parametrize("topic", SOURCE_TOPICS)
def test_each_source_event_carries_its_id_time_and_department(catalog: Catalog, topic: str) -> None:
    contract = catalog.by_topic(topic)
    types = {f["name"]: f["type"] for f in contract.schema["fields"]}
    assert contract.field_names[:3] == ("event_id", "event_time", "department")
    assert types["event_id"] == "string"
    assert types["event_time"] == {"type": "long", "logicalType": "timestamp-millis"}
    assert types["department"] == "string"
    assert contract.full_name == f"gov.{topic.split('.')[1].replace('-', '_')}.{contract.name}"


# --- documentation and types -------------------------------------------------------------


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_every_record_enum_and_field_is_documented(catalog: Catalog, topic: str) -> None:
    contract = catalog.by_topic(topic)
    undocumented = [name for name, named in named_types(contract.schema) if not named.get("doc")]
    undocumented += [f"{rec}.{f['name']}" for rec, f in all_fields(contract) if not f.get("doc")]
    assert undocumented == []


def test_every_enum_is_one_of_the_agreed_closed_sets(catalog: Catalog) -> None:
    enums = {
        name: tuple(named["symbols"])
        for contract in catalog
        for name, named in named_types(contract.schema)
        if named["type"] == "enum"
    }
    assert enums == EXPECTED_ENUMS


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_enum_defaults_are_among_their_symbols(catalog: Catalog, topic: str) -> None:
    for name, named in named_types(catalog.by_topic(topic).schema):
        if named["type"] == "enum" and "default" in named:
            assert named["default"] in named["symbols"], name


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_fields_naming_a_kind_status_stage_or_result_are_enums_not_free_text(
    catalog: Catalog, topic: str
) -> None:
    contract = catalog.by_topic(topic)
    names = dict(named_types(contract.schema))
    for record, field in all_fields(contract):
        if CLOSED_SET_NAME.search(field["name"]):
            kinds = {kind_of(b) for b in non_null(field["type"], names)}
            assert kinds == {"enum"}, f"{record}.{field['name']}"


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_times_are_timestamp_millis_dates_are_dates_and_money_is_long_fen(
    catalog: Catalog, topic: str
) -> None:
    contract = catalog.by_topic(topic)
    names = dict(named_types(contract.schema))
    for record, field in all_fields(contract):
        name, branch = field["name"], non_null(field["type"], names)[0]
        where = f"{record}.{name}"
        assert (logical(branch) == "timestamp-millis") == bool(TIME_NAME.search(name)), where
        assert (logical(branch) == "date") == name.endswith("_date"), where
        if name.endswith("_fen"):
            assert branch == "long", where


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_optional_fields_are_null_first_and_default_to_null(catalog: Catalog, topic: str) -> None:
    for record, field in all_fields(catalog.by_topic(topic)):
        if isinstance(field["type"], list) and "null" in field["type"]:
            assert field["type"][0] == "null", f"{record}.{field['name']}"
            assert "default" in field and field["default"] is None, f"{record}.{field['name']}"


# --- personal data -----------------------------------------------------------------------


def suggests_personal_data(field_name: str) -> bool:
    """A field name that could hold an ID number, a name or a phone number in clear."""
    return not field_name.endswith("_masked") and bool(PERSONAL_DATA.search(field_name))


@pytest.mark.parametrize(
    "field_name", ["id_number", "idno", "id_card", "name", "owner_name", "phone", "mobile", "tel"]
)
def test_the_personal_data_check_flags_raw_identifiers(field_name: str) -> None:
    assert suggests_personal_data(field_name)


@pytest.mark.parametrize(
    "field_name", ["name_masked", "phone_masked", "person_key", "household_no", "room_number"]
)
def test_the_personal_data_check_allows_keys_and_masked_values(field_name: str) -> None:
    assert not suggests_personal_data(field_name)


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_no_field_can_hold_an_id_number_name_or_phone_in_clear(
    catalog: Catalog, topic: str
) -> None:
    flagged = [
        f"{record}.{field['name']}"
        for record, field in all_fields(catalog.by_topic(topic))
        if suggests_personal_data(field["name"])
    ]
    assert flagged == []


FIELD_CLASSES = {
    "pseudonym",
    "birth_date",
    "masked_name",
    "masked_phone",
    "category",
    "code",
    "address",
    "free_text",
    "label",
    "count",
    "quantity",
    "time",
}


@pytest.mark.parametrize("topic", SOURCE_TOPICS)
def test_every_source_field_declares_a_data_class_and_none_is_personal(
    catalog: Catalog, topic: str
) -> None:
    # identifier, name and phone are what a column may hold, never what a field carries.
    classes = {
        f"{record}.{field['name']}": field.get("datong.class")
        for record, field in all_fields(catalog.by_topic(topic))
    }
    assert {f: c for f, c in classes.items() if c not in FIELD_CLASSES} == {}


@pytest.mark.parametrize("topic", SOURCE_TOPICS)
def test_data_classes_agree_with_the_fields_types(catalog: Catalog, topic: str) -> None:
    contract = catalog.by_topic(topic)
    names = dict(named_types(contract.schema))
    for record, field in all_fields(contract):
        (kind,) = non_null(field["type"], names)
        where = f"{record}.{field['name']}"
        if field["name"] == "person_key":
            assert field["datong.class"] == "pseudonym", where
        if logical(kind) == "timestamp-millis":
            assert field["datong.class"] == "time", where
        if kind_of(kind) in ("enum", "boolean"):
            assert field["datong.class"] == "category", where


# --- the wire format ---------------------------------------------------------------------


@pytest.mark.parametrize("topic", ALL_TOPICS)
@pytest.mark.parametrize("optional", [True, False], ids=["all-fields", "defaults-only"])
def test_a_sample_record_round_trips_through_the_confluent_wire_format(
    catalog: Catalog, serde: Serde, topic: str, optional: bool
) -> None:
    contract = catalog.by_topic(topic)
    record = sample(contract, optional=optional)
    payload = serde.encode(contract, record)
    assert payload[0] == MAGIC
    assert int.from_bytes(payload[1:5], "big") == serde.schema_id(contract)
    assert serde.decode(contract, payload) == record
