"""Sharing policies: loaded and checked at start, then the one filter every read path uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.catalog import Catalog
from services.access.policy import (
    CONDITIONAL,
    NOT_SHARED,
    UNCONDITIONAL,
    FieldNotGranted,
    Grant,
    PolicyError,
    allows_community,
    filter_record,
)
from services.access.policy_file import DEFAULT_FIELD_CLASSES_FILE, DEFAULT_POLICY_FILE, load_policy
from services.api.read_access import Reader, ReadScope

CATALOG = Catalog.load()
SHIPPED_CLASSES: dict[str, Any] = yaml.safe_load(DEFAULT_FIELD_CLASSES_FILE.read_text())


def write_policy(tmp_path: Path, audiences: Any, **top: Any) -> Path:
    path = tmp_path / "sharing.yaml"
    path.write_text(yaml.safe_dump({"audiences": audiences, **top}, allow_unicode=True))
    return path


def audience(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "purpose": "welfare checks",
        "communities": ["110105001001"],
        "views": {"resident_profile": {"fields": ["name_masked"]}},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def write_classes(tmp_path: Path, change: Any) -> Path:
    """The shipped field classes with one change applied; the policy refers to them."""
    classes = yaml.safe_load(DEFAULT_FIELD_CLASSES_FILE.read_text())
    change(classes["views"])
    (tmp_path / "classes.yaml").write_text(yaml.safe_dump(classes))
    return write_policy(tmp_path, {"grid": audience()}, field_classes="classes.yaml")


def refusal(path: Path) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy(path, CATALOG)
    return str(caught.value)


# --- the shipped policy ----------------------------------------------------------------------


def test_the_shipped_policy_loads_with_the_audiences_the_readme_names() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE, CATALOG)
    assert set(policy.audiences) == {
        "grid-office-110105001001",
        "grid-office-610103001001",
        "health-department",
        "civil-affairs",
        "community-dashboard",
        "public-security",
        "commerce-delivery",
    }


def test_the_field_classes_cover_every_field_of_every_view_contract() -> None:
    for contract in CATALOG.views():
        assert set(SHIPPED_CLASSES["views"][contract.view]) == set(contract.field_names)


def test_the_dashboard_reads_counts_and_alert_types_only() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE, CATALOG)
    dashboard = policy.audiences["community-dashboard"]
    # Open alerts by type are among the situation's counts; an alert row of any type would
    # tell what raised it (a RED status, a dwelling's water use) about someone.
    assert set(dashboard.grants) == {"community_situation"}
    assert "open_alerts" in dashboard.grants["community_situation"].fields


def test_no_shipped_audience_reads_a_not_shared_field() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE, CATALOG)
    for one in policy.audiences.values():
        for view, grant in one.grants.items():
            assert not grant.fields & policy.views[view].of_class(NOT_SHARED), (one.name, view)


def test_a_grant_gives_the_unconditional_fields_and_only_the_named_conditional_ones(
    tmp_path: Path,
) -> None:
    policy = load_policy(write_policy(tmp_path, {"grid": audience()}), CATALOG)
    grant = policy.grant("grid", "resident_profile")
    assert grant is not None
    fields = policy.views["resident_profile"]
    assert grant.fields == fields.of_class(UNCONDITIONAL) | {"name_masked"}
    assert "address" in fields.of_class(CONDITIONAL) and "address" not in grant.fields


def test_what_a_policy_does_not_grant_is_denied(tmp_path: Path) -> None:
    policy = load_policy(write_policy(tmp_path, {"grid": audience()}), CATALOG)
    assert policy.grant("grid", "household") is None
    assert policy.grant("nobody", "resident_profile") is None


# --- bad policies: each error names the file, the audience, the field and the reason ------------


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"purpose": None}, ["'purpose'", "required"]),
        ({"purpose": "  "}, ["'purpose'", "required"]),
        ({"communities": None}, ["'communities'", '"*"']),
        ({"communities": []}, ["'communities'", "non-empty list"]),
        ({"communities": [110105001001]}, ["'communities'", "110105001001"]),
        ({"communities": "all"}, ["'communities'", "'all'"]),
        ({"communities": ["A", "A"]}, ["'communities'", "twice"]),
        ({"views": None}, ["'views'", "at least one view"]),
        ({"views": {"residents": {}}}, ["view 'residents'", "no such view"]),
        ({"views": {"resident_profile": ["name_masked"]}}, ["'resident_profile'", "mapping"]),
        (
            {"views": {"resident_profile": {"feilds": ["name_masked"]}}},
            ["'resident_profile'", "unknown key 'feilds'"],
        ),
        (
            {"views": {"resident_profile": {"fields": "name_masked"}}},
            ["'resident_profile'", "list of field names"],
        ),
        (
            {"views": {"resident_profile": {"fields": ["name"]}}},
            ["view 'resident_profile'", "field 'name'", "not a field of the view"],
        ),
        (
            {"views": {"resident_profile": {"fields": ["household_no"]}}},
            ["view 'resident_profile'", "field 'household_no'", "not_shared"],
        ),
        (
            {"views": {"household": {"fields": ["address", "address"]}}},
            ["view 'household'", "field 'address'", "twice"],
        ),
        ({"purpse": "typo"}, ["unknown key 'purpse'"]),
    ],
)
def test_a_bad_audience_is_refused_naming_file_audience_and_field(
    tmp_path: Path, changes: dict[str, Any], names: list[str]
) -> None:
    body = audience(**changes)
    if "purpose" in changes and changes["purpose"] is None:
        body.pop("purpose", None)
    message = refusal(write_policy(tmp_path, {"grid": body}))
    for expected in [str(tmp_path / "sharing.yaml"), "audience 'grid'", *names]:
        assert expected in message


@pytest.mark.parametrize("name", ["Grid Office", "-grid", "grid/1", "x" * 65])
def test_an_audience_name_that_cannot_travel_in_tokens_and_logs_is_refused(
    tmp_path: Path, name: str
) -> None:
    message = refusal(write_policy(tmp_path, {name: audience()}))
    assert f"audience {name!r}" in message and "lowercase" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("audiences: [", "not valid YAML"),
        ("- a list", "must be a YAML mapping"),
        ("audiences: {}", "needs an 'audiences' mapping"),
        ("audiences: {grid: {}}\nextra: 1", "unknown key 'extra'"),
        ("audiences: {grid: []}", "audience 'grid': must be a mapping"),
        ("audiences: {grid: {}}\nfield_classes: 3", "field_classes must be the path"),
    ],
)
def test_a_malformed_policy_file_is_refused_naming_it(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "sharing.yaml"
    path.write_text(text)
    message = refusal(path)
    assert str(path) in message and expected in message


def test_a_missing_policy_file_is_refused_naming_it(tmp_path: Path) -> None:
    message = refusal(tmp_path / "absent.yaml")
    assert str(tmp_path / "absent.yaml") in message and "cannot be read" in message


# --- bad field classes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (
            lambda v: v["resident_profile"].pop("health_status"),
            ["view 'resident_profile'", "field 'health_status'", "has no sharing class"],
        ),
        (
            lambda v: v["alert"].pop("provenance"),
            ["view 'alert'", "field 'provenance'", "has no sharing class"],
        ),
        (
            lambda v: v["household"].update(colour="conditional"),
            ["view 'household'", "field 'colour'", "not a field of the view contract"],
        ),
        (
            lambda v: v["household"].update(address="secret"),
            ["view 'household'", "field 'address'", "'secret' is not one of"],
        ),
        (
            lambda v: v.pop("community_situation"),
            ["view 'community_situation'", "missing"],
        ),
        (lambda v: v.update(residents={}), ["view 'residents'", "no such view contract"]),
        (
            lambda v: v["resident_profile"].update(person_key="conditional"),
            ["field 'person_key'", "must be unconditional", "key"],
        ),
        (
            lambda v: v["alert"].update(community_code="not_shared"),
            ["view 'alert'", "field 'community_code'", "must be unconditional"],
        ),
    ],
)
def test_bad_field_classes_are_refused_naming_file_view_and_field(
    tmp_path: Path, change: Any, names: list[str]
) -> None:
    message = refusal(write_classes(tmp_path, change))
    for expected in [str(tmp_path / "classes.yaml"), *names]:
        assert expected in message


# --- the filter ------------------------------------------------------------------------------


def grant(fields: set[str], communities: set[str] | None = None) -> Grant:
    return Grant(
        "grid",
        "welfare checks",
        "resident_profile",
        frozenset(fields),
        None if communities is None else frozenset(communities),
    )


RECORD: dict[str, Any] = {
    "person_key": "ab12",
    "community_code": "110105001001",
    "name_masked": "李*",
    "health_status": "RED",
    "provenance": {
        "name_masked": {"department": "public-security", "event_id": "e1", "event_time_ms": 1},
        "health_status": {"department": "health", "event_id": "e2", "event_time_ms": 2},
    },
}


def test_the_filter_keeps_granted_fields_and_their_provenance_only() -> None:
    kept = filter_record(grant({"person_key", "name_masked", "provenance"}), RECORD)
    assert kept == {
        "person_key": "ab12",
        "name_masked": "李*",
        "provenance": {"name_masked": RECORD["provenance"]["name_masked"]},
    }


def test_the_filter_drops_provenance_when_it_is_not_granted() -> None:
    assert filter_record(grant({"person_key", "health_status"}), RECORD) == {
        "person_key": "ab12",
        "health_status": "RED",
    }


def test_the_filter_drops_fields_it_does_not_know() -> None:
    assert "colour" not in (filter_record(grant({"person_key"}), {**RECORD, "colour": "x"}) or {})


def test_a_community_grant_allows_its_communities_only() -> None:
    listed = grant({"person_key"}, {"110105001001"})
    assert allows_community(listed, "110105001001")
    assert not allows_community(listed, "110105001002")
    assert not allows_community(listed, None)
    assert allows_community(grant({"person_key"}), None)


def test_narrowing_a_grant_outside_it_names_the_field() -> None:
    with pytest.raises(FieldNotGranted, match="may not read field 'address'"):
        grant({"person_key", "name_masked"}).narrowed(["name_masked", "address"])
    assert grant({"person_key", "name_masked"}).narrowed(["name_masked"]).fields == {"name_masked"}


def test_a_read_scope_allows_the_asked_community_within_the_grant() -> None:
    reader = Reader("t1", "w7", "grid", "welfare checks")
    everywhere = ReadScope(reader, grant({"person_key"}), None)
    assert everywhere.allows("110105001002") and everywhere.allows(None)
    listed = grant({"person_key"}, {"110105001001", "110105001002"})
    assert not ReadScope(reader, listed, listed.communities).allows(None)
    one = ReadScope(reader, listed, frozenset({"110105001001"}))
    assert one.allows("110105001001") and not one.allows("110105001002")


def test_a_read_scope_filters_a_streamed_record_or_withholds_it() -> None:
    reader = Reader("t1", "w7", "grid", "welfare checks")
    listed = grant({"person_key", "community_code", "name_masked"}, {"110105001001"})
    scope = ReadScope(reader, listed, listed.communities)
    assert scope.filter(RECORD) == {
        "person_key": "ab12",
        "community_code": "110105001001",
        "name_masked": "李*",
    }
    assert scope.filter({**RECORD, "community_code": "110105001002"}) is None
    assert scope.filter({"person_key": "ab12", "community_code": None}) is None
