"""The data catalogue, checked against the shipped contracts and policy files read directly:
what the README's sharing rules say each audience reads, not what the policy code computes."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.catalog import AVRO_ROOT, OWNER_ATTRIBUTE, Catalog
from schemas.errors import CatalogError
from services.access.data_catalog import build_catalog
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.feed_schedule import FeedSchedule

CONTRACTS = Catalog.load()
POLICY = load_policy(DEFAULT_POLICY_FILE, CONTRACTS)
NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
POLICIES = Path(DEFAULT_POLICY_FILE).parent


def catalog(newest: dict[str, int] | None = None) -> dict[str, Any]:
    return build_catalog(CONTRACTS, POLICY, FeedSchedule(), newest or {}, NOW)


def field_of(found: dict[str, Any], view: str, name: str) -> dict[str, Any]:
    entries = next(v for v in found["views"] if v["view"] == view)["fields"]
    return next(f for f in entries if f["name"] == name)


def expected_readers(view: str, field: str) -> set[str]:
    """From the YAML, by the README's rule: a grant of a view gives its unconditional fields;
    a conditional field only where the grant lists it; a not_shared field never."""
    classes = yaml.safe_load((POLICIES / "field_classes.yaml").read_text())["views"][view]
    audiences = yaml.safe_load(Path(DEFAULT_POLICY_FILE).read_text())["audiences"]
    readers = set()
    for name, audience in audiences.items():
        grant = (audience.get("views") or {}).get(view)
        if grant is None:
            continue
        listed = (grant or {}).get("fields") or []
        if classes[field] == "unconditional" or (
            classes[field] == "conditional" and field in listed
        ):
            readers.add(name)
    return readers


def test_every_field_of_every_view_is_listed_with_its_doc() -> None:
    found = catalog()
    for contract in CONTRACTS.views():
        listed = next(v for v in found["views"] if v["view"] == contract.view)
        assert [f["name"] for f in listed["fields"]] == list(contract.field_names)
        assert all(f["doc"] for f in listed["fields"])


@pytest.mark.parametrize(
    ("view", "field"),
    [(c.view, name) for c in CONTRACTS.views() for name in c.field_names],
)
def test_each_field_lists_exactly_the_audiences_the_policy_file_grants_it(
    view: str, field: str
) -> None:
    readers = field_of(catalog(), view, field)["readers"]
    assert {r["audience"] for r in readers} == expected_readers(str(view), field)


def test_a_not_shared_field_is_marked_so_and_read_by_nobody() -> None:
    entry = field_of(catalog(), "household", "last_water_reading")
    assert entry["sharing"] == "not_shared"
    assert entry["readers"] == []
    assert catalog()["sharing_classes"]["not_shared"]["zh"] == "不予共享"


def test_a_field_names_its_owning_department_and_what_it_is_derived_from() -> None:
    found = catalog()
    assert field_of(found, "resident_profile", "health_status")["owner"] == "health"
    assert field_of(found, "household", "last_water_activity_at")["owner"] == "utilities"
    dwelling = field_of(found, "resident_profile", "dwelling_id")
    assert dwelling["derived_from"] == [
        "household.building",
        "household.unit",
        "household.room_number",
    ]


def test_a_reader_of_one_community_is_shown_with_that_community_and_its_purpose() -> None:
    readers = field_of(catalog(), "resident_profile", "health_status")["readers"]
    grid = next(r for r in readers if r["audience"] == "grid-office-110105001001")
    assert grid["communities"] == ["110105001001"]
    assert "welfare" in grid["purpose"]
    assert grid["grant"] == "base policy"


def test_the_owners_cadence_shows_its_newest_event_and_whether_it_is_overdue() -> None:
    two_hours_ago = int(NOW.timestamp() * 1000) - 2 * 3600 * 1000
    found = catalog({"health": two_hours_ago})
    health = next(d for d in found["departments"] if d["department"] == "health")
    assert health["newest_event_at"] == "2026-10-01T10:00:00+00:00"
    assert health["newest_event_age_s"] == 7200
    assert health["expected_every_s"] == 2 * 3600
    housing = next(d for d in found["departments"] if d["department"] == "housing")
    assert housing["newest_event_at"] is None
    assert field_of(found, "resident_profile", "health_status")["cadence"] == {
        "expected_every_s": 7200,
        "newest_event_at": "2026-10-01T10:00:00+00:00",
        "newest_event_age_s": 7200,
    }
    assert field_of(found, "alert", "alert_id")["cadence"] is None  # the hub derives it


def test_source_events_are_listed_with_their_fields_and_the_view_fields_they_reach() -> None:
    found = catalog()
    source = next(s for s in found["sources"] if s["topic"] == "src.utilities.meter-reading")
    assert source["department"] == "utilities"
    fields = {f["name"]: f for f in source["fields"]}
    assert "event_id" in fields
    assert fields["event_time"]["data_class"] == "time"
    assert "household.last_water_activity_at" in source["shared_through"]
    assert source["sharing"] == "not_shared"


def test_the_catalogue_is_json() -> None:
    assert json.loads(json.dumps(catalog(), ensure_ascii=False))["policy"] == "sharing.yaml"


def test_a_view_field_without_an_owner_stops_the_catalog_from_loading(tmp_path: Path) -> None:
    root = tmp_path / "avro"
    shutil.copytree(AVRO_ROOT, root)
    path = root / "views" / "Household.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    del schema["fields"][3][OWNER_ATTRIBUTE]
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"building.*datong\.owner"):
        Catalog.load(root)


def test_every_audience_is_listed_with_its_purpose_and_communities() -> None:
    audiences = yaml.safe_load(Path(DEFAULT_POLICY_FILE).read_text())["audiences"]
    listed = {a["audience"]: a for a in catalog()["audiences"]}
    assert set(listed) == set(audiences)
    for name, audience in audiences.items():
        assert listed[name]["purpose"] == audience["purpose"]
        want = audience["communities"]
        assert listed[name]["communities"] == ("*" if want in ("*", ["*"]) else sorted(want))
