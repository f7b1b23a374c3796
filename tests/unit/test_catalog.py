"""Loading the schema tree: conventions enforced per file, topics and subjects named."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import fastavro
import pytest

from schemas.catalog import AVRO_ROOT, Catalog, kebab, snake
from schemas.errors import CatalogError


def good_event(name: str = "CheckupLogged", namespace: str = "gov.health") -> dict[str, Any]:
    """A minimal, valid source-event schema."""
    return {
        "type": "record",
        "name": name,
        "namespace": namespace,
        "doc": "A resident had a checkup.",
        "datong.key": "person_key",
        "fields": [
            {"name": "event_id", "type": "string", "doc": "Unique id."},
            {
                "name": "event_time",
                "type": {"type": "long", "logicalType": "timestamp-millis"},
                "doc": "When.",
            },
            {"name": "department", "type": "string", "doc": "Always health."},
            {"name": "person_key", "type": "string", "doc": "Pseudonymous resident key."},
            {"name": "status", "type": "gov.common.HealthStatus", "doc": "Colour after."},
        ],
    }


def good_view(name: str, owner: str = "health") -> dict[str, Any]:
    """A minimal, valid view schema: every field names its owning department."""
    schema = good_event(name, "gov.views")
    schema["fields"] = [{**f, "datong.owner": owner} for f in schema["fields"]]
    return schema


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """An avro tree holding only the shared types."""
    root = tmp_path / "avro"
    shutil.copytree(AVRO_ROOT / "common", root / "common")
    return root


def write(root: Path, relative: str, content: dict[str, Any] | str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(root: Path) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        Catalog.load(root)
    return caught.value


# --- a good file -------------------------------------------------------------------------


def test_a_valid_event_in_a_temp_tree_loads_with_its_topic(tree: Path) -> None:
    write(tree, "health/CheckupLogged.avsc", good_event())
    contract = Catalog.load(tree).by_name("gov.health.CheckupLogged")
    assert contract.topic == "src.health.checkup-logged"
    assert contract.kind == "source"
    assert (contract.department, contract.event) == ("health", "checkup-logged")


def test_shared_types_are_inlined_so_the_schema_stands_alone(tree: Path) -> None:
    write(tree, "health/CheckupLogged.avsc", good_event())
    contract = Catalog.load(tree).by_name("gov.health.CheckupLogged")
    status = next(f for f in contract.schema["fields"] if f["name"] == "status")
    assert status["type"]["type"] == "enum"
    assert status["type"]["symbols"] == ["GREEN", "YELLOW", "RED"]
    fastavro.parse_schema(json.loads(contract.schema_text))  # no named types needed


def test_a_department_directory_with_underscores_gives_a_kebab_topic(tree: Path) -> None:
    write(tree, "civil_affairs/CheckupLogged.avsc", good_event(namespace="gov.civil_affairs"))
    contract = Catalog.load(tree).by_name("gov.civil_affairs.CheckupLogged")
    assert contract.topic == "src.civil-affairs.checkup-logged"
    assert contract.value_subject == "src.civil-affairs.checkup-logged-value"
    assert contract.key_subject == "src.civil-affairs.checkup-logged-key"


def test_each_view_is_keyed_by_the_field_its_contract_names(tree: Path) -> None:
    write(tree, "health/CheckupLogged.avsc", good_event())
    write(tree, "views/Checkups.avsc", good_view("Checkups"))
    ward = {**good_view("WardRound", "datong"), "datong.key": "event_id"}
    write(tree, "views/WardRound.avsc", ward)
    assert Catalog.load(tree).view_key_fields() == {
        "checkups": "person_key",
        "ward_round": "event_id",
    }


# --- bad files ---------------------------------------------------------------------------


def test_a_file_that_is_not_json_names_the_file(tree: Path) -> None:
    path = write(tree, "health/CheckupLogged.avsc", '{"type": "record", "name": ')
    assert str(path) in str(load_error(tree))


def test_a_json_array_names_the_file(tree: Path) -> None:
    path = write(tree, "health/CheckupLogged.avsc", "[]")
    assert str(path) in str(load_error(tree))


def test_a_file_that_is_not_valid_avro_names_the_file(tree: Path) -> None:
    schema = good_event()
    schema["fields"][3]["type"] = "strnig"
    path = write(tree, "health/CheckupLogged.avsc", schema)
    assert str(path) in str(load_error(tree))


def test_a_reference_to_an_unknown_shared_type_names_the_file(tree: Path) -> None:
    schema = good_event()
    schema["fields"][4]["type"] = "gov.common.Colour"
    path = write(tree, "health/CheckupLogged.avsc", schema)
    assert str(path) in str(load_error(tree))


def test_a_record_without_a_doc_names_the_file(tree: Path) -> None:
    schema = good_event()
    del schema["doc"]
    path = write(tree, "health/CheckupLogged.avsc", schema)
    assert str(path) in str(load_error(tree))


def test_a_field_without_a_doc_names_the_file_and_the_field(tree: Path) -> None:
    schema = good_event()
    schema["fields"][4]["doc"] = ""
    path = write(tree, "health/CheckupLogged.avsc", schema)
    message = str(load_error(tree))
    assert str(path) in message
    assert "status" in message


def test_a_missing_datong_key_names_the_file(tree: Path) -> None:
    schema = good_event()
    del schema["datong.key"]
    path = write(tree, "health/CheckupLogged.avsc", schema)
    message = str(load_error(tree))
    assert str(path) in message
    assert "datong.key" in message


def test_a_datong_key_naming_no_field_names_the_file(tree: Path) -> None:
    schema = good_event()
    schema["datong.key"] = "resident_id"
    path = write(tree, "health/CheckupLogged.avsc", schema)
    assert str(path) in str(load_error(tree))


def test_a_wrong_namespace_names_the_file(tree: Path) -> None:
    path = write(tree, "health/CheckupLogged.avsc", good_event(namespace="gov.housing"))
    message = str(load_error(tree))
    assert str(path) in message
    assert "gov.health" in message


def test_a_view_outside_the_views_namespace_names_the_file(tree: Path) -> None:
    schema = good_event("Checkups", namespace="gov.health")
    path = write(tree, "views/Checkups.avsc", schema)
    assert str(path) in str(load_error(tree))


def test_a_record_named_differently_from_its_file_names_the_file(tree: Path) -> None:
    path = write(tree, "health/Checkup.avsc", good_event("CheckupLogged"))
    assert str(path) in str(load_error(tree))


@pytest.mark.parametrize("missing", ["event_id", "event_time", "department"])
def test_a_source_event_without_its_envelope_field_names_the_file(tree: Path, missing: str) -> None:
    schema = good_event()
    schema["fields"] = [f for f in schema["fields"] if f["name"] != missing]
    path = write(tree, "health/CheckupLogged.avsc", schema)
    message = str(load_error(tree))
    assert str(path) in message
    assert missing in message


def test_a_broken_shared_type_names_its_file(tree: Path) -> None:
    path = write(tree, "common/Colour.avsc", {"type": "enum", "name": "Colour"})
    assert str(path) in str(load_error(tree))


def test_one_bad_file_among_good_ones_is_reported(tree: Path) -> None:
    write(tree, "health/CheckupLogged.avsc", good_event())
    bad = copy.deepcopy(good_event("CheckupCancelled"))
    del bad["datong.key"]
    path = write(tree, "health/CheckupCancelled.avsc", bad)
    assert str(path) in str(load_error(tree))


# --- the real tree -----------------------------------------------------------------------


def test_the_real_tree_maps_health_status_changed_to_its_topic_and_subject() -> None:
    contract = Catalog.load().by_name("gov.health.HealthStatusChanged")
    assert contract.topic == "src.health.health-status-changed"
    assert contract.value_subject == "src.health.health-status-changed-value"
    assert contract.key_subject == "src.health.health-status-changed-key"
    assert contract.key_field == "person_key"
    assert Catalog.load().event("health", "health-status-changed") == contract


def test_the_resident_profile_view_is_on_its_view_topic() -> None:
    contract = Catalog.load().view("resident_profile")
    assert (contract.kind, contract.full_name) == ("view", "gov.views.ResidentProfile")
    assert contract.topic == "view.resident_profile"


def test_an_unknown_topic_or_name_is_a_catalog_error_naming_it() -> None:
    catalog = Catalog.load()
    with pytest.raises(CatalogError, match=re.escape("src.health.nothing")):
        catalog.by_topic("src.health.nothing")
    with pytest.raises(CatalogError, match=re.escape("gov.health.Nothing")):
        catalog.by_name("gov.health.Nothing")


@pytest.mark.parametrize(
    ("name", "kebab_name", "snake_name"),
    [
        ("ResidentRegistered", "resident-registered", "resident_registered"),
        ("HealthStatusChanged", "health-status-changed", "health_status_changed"),
        ("Alert", "alert", "alert"),
    ],
)
def test_names_convert_to_kebab_and_snake_case(name: str, kebab_name: str, snake_name: str) -> None:
    assert (kebab(name), snake(name)) == (kebab_name, snake_name)


def test_a_view_field_owned_by_an_unknown_department_names_the_field(tree: Path) -> None:
    write(tree, "health/CheckupLogged.avsc", good_event())
    write(tree, "views/Checkups.avsc", good_view("Checkups", owner="weather-bureau"))
    message = str(load_error(tree))
    assert "field 'event_id'" in message and "datong.owner" in message
