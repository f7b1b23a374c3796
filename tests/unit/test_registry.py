"""The embedded registry store: versions, deletes, levels, refusals, evolution, registration."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import pytest
import sqlalchemy as sa

from schemas.catalog import AVRO_ROOT, Catalog
from schemas.errors import RegistryError
from schemas.registry import catalog_registration
from schemas.registry.errors import (
    IncompatibleSchemaError,
    InvalidCompatibilityLevelError,
    InvalidSchemaError,
    RegistryRequestError,
    SchemaNotFoundError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from schemas.serde import Serde
from services.store.registry_store import SqlRegistry
from tests.support.factories import health_event
from tests.support.stores import embedded_registry

SUBJECT = "src.test.meter-reading-value"
AT = datetime(2024, 3, 5, 2, 0, 0, 125_000, tzinfo=UTC)


def schema(*fields: tuple[str, Any], name: str = "Reading") -> str:
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "namespace": "gov.test",
            "fields": [{"name": n, "type": t} for n, t in fields],
        }
    )


V1 = schema(("event_id", "string"), ("litres", "long"))
V2 = json.dumps(
    {
        **json.loads(V1),
        "fields": [
            *json.loads(V1)["fields"],
            {"name": "note", "type": ["null", "string"], "default": None},
        ],
    }
)
NARROWED = schema(("event_id", "string"), ("litres", "int"))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def registry(engine: sa.Engine) -> SqlRegistry:
    return embedded_registry(engine)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


# --- ids and versions ----------------------------------------------------------------------


def test_ids_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'views.db'}"
    first = sa.create_engine(url)
    ids = [embedded_registry(first).register(SUBJECT, text) for text in (V1, V2)]
    first.dispose()
    second = sa.create_engine(url)
    reopened = SqlRegistry(second)
    assert [reopened.register(SUBJECT, text) for text in (V1, V2)] == ids
    assert json.loads(reopened.schema_text(ids[1])) == json.loads(V2)
    assert [v.version for v in reopened.subject_versions(SUBJECT)] == [1, 2]
    second.dispose()


def test_the_same_schema_under_two_subjects_has_one_id_and_a_version_in_each(
    registry: SqlRegistry,
) -> None:
    first = registry.register_version(SUBJECT, V1)
    other = registry.register_version("src.test.other-value", V1)
    assert first.schema_id == other.schema_id
    assert (first.version, other.version) == (1, 1)


def test_registering_again_is_idempotent_and_says_it_created_nothing(
    registry: SqlRegistry,
) -> None:
    created = registry.register_version(SUBJECT, V1)
    again = registry.register_version(SUBJECT, json.dumps(json.loads(V1), indent=2))
    assert created.created and not again.created
    assert (again.schema_id, again.version) == (created.schema_id, 1)


def test_versions_count_up_and_latest_is_the_newest(registry: SqlRegistry) -> None:
    registry.register(SUBJECT, V1)
    v2_id = registry.register(SUBJECT, V2)
    latest = registry.version(SUBJECT, None)
    assert (latest.version, latest.schema_id) == (2, v2_id)
    assert registry.subjects() == [SUBJECT]


def test_lookup_finds_the_version_holding_a_schema(registry: SqlRegistry) -> None:
    registry.register(SUBJECT, V1)
    registry.register(SUBJECT, V2)
    assert registry.lookup(SUBJECT, V1).version == 1
    with pytest.raises(SchemaNotFoundError):
        registry.lookup(SUBJECT, schema(("other", "string")))
    with pytest.raises(SubjectNotFoundError):
        registry.lookup("src.test.nothing-value", V1)


@pytest.mark.parametrize(
    ("call", "error", "code"),
    [
        (lambda r: r.schema_text(999), SchemaNotFoundError, 40403),
        (lambda r: r.subject_versions("nobody-value"), SubjectNotFoundError, 40401),
        (lambda r: r.version(SUBJECT, 7), VersionNotFoundError, 40402),
        (lambda r: r.register(SUBJECT, "{not json"), InvalidSchemaError, 42201),
        (lambda r: r.set_compatibility("SIDEWAYS"), InvalidCompatibilityLevelError, 42203),
    ],
)
def test_refusals_carry_confluent_error_codes(
    registry: SqlRegistry, call: Any, error: type[RegistryRequestError], code: int
) -> None:
    registry.register(SUBJECT, V1)
    with pytest.raises(error) as caught:
        call(registry)
    assert caught.value.error_code == code
    assert isinstance(caught.value, RegistryError)


# --- compatibility on register -------------------------------------------------------------


def test_an_incompatible_schema_is_refused_with_409_naming_field_and_rule(
    registry: SqlRegistry,
) -> None:
    registry.register(SUBJECT, V1)
    with pytest.raises(IncompatibleSchemaError) as caught:
        registry.register(SUBJECT, NARROWED)
    assert caught.value.error_code == 409
    assert caught.value.http_status == 409
    assert "field 'litres'" in str(caught.value)
    assert "BACKWARD" in str(caught.value)
    assert [v.version for v in registry.subject_versions(SUBJECT)] == [1]


def test_the_global_default_is_backward_and_views_default_to_full_transitive(
    registry: SqlRegistry,
) -> None:
    assert registry.compatibility() == "BACKWARD"
    assert registry.compatibility(SUBJECT) == "BACKWARD"
    assert registry.compatibility("view.household-value") == "FULL_TRANSITIVE"
    registry.set_compatibility("NONE")
    assert registry.compatibility(SUBJECT) == "NONE"
    assert registry.compatibility("view.household-value") == "FULL_TRANSITIVE"


def test_a_subject_level_overrides_the_global_one_until_deleted(registry: SqlRegistry) -> None:
    registry.set_compatibility("FULL", SUBJECT)
    assert registry.compatibility(SUBJECT) == "FULL"
    assert registry.compatibility() == "BACKWARD"
    assert registry.delete_compatibility(SUBJECT) == "FULL"
    assert registry.compatibility(SUBJECT) == "BACKWARD"


def test_level_none_lets_an_incompatible_schema_in(registry: SqlRegistry) -> None:
    registry.register(SUBJECT, V1)
    registry.set_compatibility("NONE", SUBJECT)
    assert registry.register_version(SUBJECT, NARROWED).version == 2


def test_a_view_subject_refuses_a_change_old_readers_cannot_read(registry: SqlRegistry) -> None:
    subject = "view.test-value"
    registry.register(subject, V1)
    with pytest.raises(IncompatibleSchemaError, match="FULL_TRANSITIVE"):
        registry.register(subject, schema(("event_id", "string")))  # FORWARD breaks


def test_transitive_levels_check_every_earlier_version(registry: SqlRegistry) -> None:
    v1 = schema(("event_id", "string"), ("reading", "string"))
    v2 = schema(("event_id", "string"))
    v3 = json.dumps(
        {
            **json.loads(v2),
            "fields": [
                {"name": "event_id", "type": "string"},
                {"name": "reading", "type": "long", "default": 0},
            ],
        }
    )
    registry.set_compatibility("BACKWARD_TRANSITIVE", SUBJECT)
    registry.register(SUBJECT, v1)
    registry.register(SUBJECT, v2)
    with pytest.raises(IncompatibleSchemaError, match="version 1") as caught:
        registry.register(SUBJECT, v3)
    assert caught.value.reasons and "field 'reading'" in caught.value.reasons[0]
    assert registry.test_compatibility(SUBJECT, v3, version=2) == []
    registry.set_compatibility("BACKWARD", SUBJECT)
    assert registry.register_version(SUBJECT, v3).version == 3


# --- soft and permanent deletes ------------------------------------------------------------


def test_a_soft_deleted_version_is_hidden_but_still_readable_on_request(
    registry: SqlRegistry,
) -> None:
    registry.register(SUBJECT, V1)
    registry.register(SUBJECT, V2)
    assert registry.delete_version(SUBJECT, 2) == 2
    assert [v.version for v in registry.subject_versions(SUBJECT)] == [1]
    assert [v.version for v in registry.subject_versions(SUBJECT, deleted=True)] == [1, 2]
    assert registry.version(SUBJECT, 2, deleted=True).deleted
    with pytest.raises(VersionNotFoundError):
        registry.version(SUBJECT, 2)


def test_a_version_is_deleted_permanently_only_after_a_soft_delete(registry: SqlRegistry) -> None:
    registry.register(SUBJECT, V1)
    with pytest.raises(VersionNotSoftDeletedError) as caught:
        registry.delete_version(SUBJECT, 1, permanent=True)
    assert caught.value.error_code == 40407
    registry.delete_version(SUBJECT, 1)
    with pytest.raises(VersionSoftDeletedError) as again:
        registry.delete_version(SUBJECT, 1)
    assert again.value.error_code == 40406
    assert registry.delete_version(SUBJECT, 1, permanent=True) == 1
    assert registry.subjects(deleted=True) == []


def test_a_subject_is_deleted_permanently_only_after_a_soft_delete(registry: SqlRegistry) -> None:
    schema_id = registry.register(SUBJECT, V1)
    registry.register(SUBJECT, V2)
    with pytest.raises(SubjectNotSoftDeletedError) as caught:
        registry.delete_subject(SUBJECT, permanent=True)
    assert caught.value.error_code == 40405
    assert registry.delete_subject(SUBJECT) == [1, 2]
    assert registry.subjects() == []
    assert registry.subjects(deleted=True) == [SUBJECT]
    with pytest.raises(SubjectSoftDeletedError) as again:
        registry.delete_subject(SUBJECT)
    assert again.value.error_code == 40404
    assert registry.delete_subject(SUBJECT, permanent=True) == [1, 2]
    assert registry.subjects(deleted=True) == []
    assert json.loads(registry.schema_text(schema_id)) == json.loads(V1)  # old records decode


def test_soft_deleted_versions_are_not_compared_and_re_registering_adds_a_version(
    registry: SqlRegistry,
) -> None:
    first = registry.register(SUBJECT, V1)
    registry.delete_subject(SUBJECT)
    assert registry.register_version(SUBJECT, NARROWED).version == 2
    again = registry.register_version(SUBJECT, V1)
    assert (again.schema_id, again.version) == (first, 3)


# --- evolution through serde ---------------------------------------------------------------


def framed(schema_id: int, schema_dict: dict[str, Any], record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema_dict), record)
    return buf.getvalue()


def test_an_optional_field_added_under_backward_keeps_old_records_decodable(
    registry: SqlRegistry, catalog: Catalog
) -> None:
    health = catalog.by_name("gov.health.HealthStatusChanged")
    old = {**health.schema, "fields": [f for f in health.schema["fields"] if f["name"] != "reason"]}
    old_id = registry.register(health.value_subject, json.dumps(old))
    assert registry.compatibility(health.value_subject) == "BACKWARD"
    serde = Serde(catalog, registry)
    new_id = serde.schema_id(health)  # registering the evolved schema is accepted
    assert new_id != old_id
    record = {k: v for k, v in health_event("ab" * 32, "RED", AT).items() if k != "reason"}
    assert serde.decode(health, framed(old_id, old, record)) == {**record, "reason": None}
    current = health_event("ab" * 32, "RED", AT)
    assert serde.decode(health, serde.encode(health, current)) == current


# --- datong schemas list | check | register -----------------------------------------------


def test_list_contracts_names_every_topic_and_subject(catalog: Catalog) -> None:
    rows = catalog_registration.list_contracts(catalog)
    assert len(rows) == len(list(catalog))
    assert rows[0].kind == "source" and rows[-1].kind == "view"
    assert all(r.subject == f"{r.topic}-value" for r in rows)


def test_register_all_is_idempotent(registry: SqlRegistry, catalog: Catalog) -> None:
    first = catalog_registration.register_all(catalog, registry)
    second = catalog_registration.register_all(catalog, registry)
    assert all(r.created for r in first)
    assert not any(r.created for r in second)
    assert [(r.subject, r.schema_id, r.version) for r in first] == [
        (r.subject, r.schema_id, r.version) for r in second
    ]
    assert catalog_registration.check(catalog, registry) == []


def copy_catalog(tmp_path: Path) -> Path:
    root = tmp_path / "avro"
    for path in AVRO_ROOT.glob("*/*.avsc"):
        target = root / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    return root


def narrow_reason(root: Path) -> None:
    """Edit the working tree: HealthStatusChanged.reason becomes a required int."""
    path = root / "health" / "HealthStatusChanged.avsc"
    raw = json.loads(path.read_text(encoding="utf-8"))
    for item in raw["fields"]:
        if item["name"] == "reason":
            item["type"] = "int"
            item.pop("default", None)
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")


def test_check_names_the_subject_field_and_rule_of_a_breaking_change(
    registry: SqlRegistry, catalog: Catalog, tmp_path: Path
) -> None:
    catalog_registration.register_all(catalog, registry)
    root = copy_catalog(tmp_path)
    narrow_reason(root)
    problems = catalog_registration.check(Catalog.load(root), registry)
    assert [(p.subject, p.field, p.rule) for p in problems] == [
        ("src.health.health-status-changed-value", "reason", "BACKWARD")
    ]
    assert "reason" in str(problems[0]) and "BACKWARD" in str(problems[0])


def test_register_all_refuses_everything_when_one_change_breaks(
    registry: SqlRegistry, catalog: Catalog, tmp_path: Path
) -> None:
    root = copy_catalog(tmp_path)
    registry.register(
        "src.health.health-status-changed-value",
        catalog.by_name("gov.health.HealthStatusChanged").schema_text,
    )
    narrow_reason(root)
    with pytest.raises(IncompatibleSchemaError, match="reason"):
        catalog_registration.register_all(Catalog.load(root), registry)
    assert registry.subjects() == ["src.health.health-status-changed-value"]
