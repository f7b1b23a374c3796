"""Derived data inherits the sharing class of what it is derived from.

An alert of a type tells what raised it, a reason's values are the inputs' values, and a
dwelling id spells out building, unit and room. The field classes say what each derived
value is made of; a policy granting one without its inputs is refused at start, and the one
filter of every read path drops alerts, reason values and event ids a reader is not granted.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.catalog import Catalog
from services.access.policy import PolicyError, filter_record
from services.access.policy_file import DEFAULT_FIELD_CLASSES_FILE, DEFAULT_POLICY_FILE, load_policy
from services.api.live.changes import Change
from services.api.live.fanout import Subscriber
from services.api.read_access import Reader, ReadScope

CATALOG = Catalog.load()
SHIPPED = load_policy(DEFAULT_POLICY_FILE, CATALOG)
H0 = 1_717_200_000_000  # 2024-06-01 00:00 UTC
HOUR = 3_600_000

# From the issue: the fields that raise each alert type.
RAISED_BY = {
    "RED_STATUS": {("resident_profile", "health_status")},
    "WELFARE_CHECK": {
        ("resident_profile", "elderly_living_alone"),
        ("household", "last_water_activity_at"),
    },
    "ISOLATION_RISK": {
        ("household", "isolation_suitable"),
        ("household", "quarantines"),
        ("household", "resident_count"),
    },
    "QUARANTINE_DELIVERY": {("household", "quarantined"), ("household", "open_deliveries")},
}


def granted(audience: str, view: str) -> frozenset[str]:
    grant = SHIPPED.grant(audience, view)
    return grant.fields if grant else frozenset()


def alert(alert_type: str, code: str, params: dict[str, int]) -> dict[str, Any]:
    """An alert record as every read path renders it, before the policy."""
    return {
        "alert_id": "0c29535a39f48084acbe26471b02ddd6",
        "alert_type": alert_type,
        "status": "OPEN",
        "subject_kind": "DWELLING",
        "subject_key": "610103001001-2-1-104",
        "dwelling_id": "610103001001-2-1-104",
        "community_code": "610103001001",
        "grid_id": "G01",
        "delivery_id": "PS20240529000009",
        "opened_at": H0,
        "closed_at": None,
        "reason_code": code,
        "reason_params": params,
        "provenance": {
            "opened_at": {
                "department": "commerce",
                "event_id": "PS20240529000009",
                "event_time_ms": H0,
            }
        },
    }


# --- the shipped policy ----------------------------------------------------------------------


@pytest.mark.parametrize("audience", sorted(SHIPPED.audiences))
def test_every_shipped_audience_reads_only_alert_types_whose_inputs_it_reads(
    audience: str,
) -> None:
    grant = SHIPPED.grant(audience, "alert")
    types = (grant.derived.alert_types or frozenset()) if grant else frozenset()
    for alert_type, inputs in RAISED_BY.items():
        has_inputs = all(field in granted(audience, view) for view, field in inputs)
        assert (alert_type in types) == has_inputs, (audience, alert_type)


def test_the_shipped_alert_types_are_the_issues_table() -> None:
    types = {
        name: sorted(grant.derived.alert_types or ())
        for name, one in SHIPPED.audiences.items()
        if (grant := one.grants.get("alert"))
    }
    every = sorted(RAISED_BY)
    assert types == {
        "grid-office-110105001001": every,
        "grid-office-610103001001": every,
        "health-department": ["ISOLATION_RISK", "RED_STATUS"],
        "civil-affairs": ["WELFARE_CHECK"],
        "commerce-delivery": ["QUARANTINE_DELIVERY"],
    }


@pytest.mark.parametrize("audience", sorted(SHIPPED.audiences))
def test_whoever_reads_a_dwelling_id_reads_its_building_unit_and_room(audience: str) -> None:
    reads_dwellings = (
        bool(granted(audience, "household"))
        or "dwelling_id" in granted(audience, "resident_profile")
        or "dwelling_id" in granted(audience, "alert")
    )
    if reads_dwellings:
        assert {"building", "unit", "room_number"} <= granted(audience, "household")


# --- refused at start --------------------------------------------------------------------------


def refusal(tmp_path: Path, views: dict[str, Any]) -> str:
    body = {"purpose": "p", "communities": "*", "views": views}
    path = tmp_path / "sharing.yaml"
    path.write_text(yaml.safe_dump({"audiences": {"desk": body}}))
    with pytest.raises(PolicyError) as caught:
        load_policy(path, CATALOG)
    return str(caught.value)


HOUSEHOLD = {"fields": ["building", "unit", "room_number", "resident_person_keys"]}


def test_an_alert_type_granted_without_the_field_that_raises_it_is_refused(
    tmp_path: Path,
) -> None:
    message = refusal(
        tmp_path,
        {
            "resident_profile": {"fields": ["elderly_living_alone"]},
            "alert": {"alert_types": ["RED_STATUS"]},
        },
    )
    assert "audience 'desk'" in message
    assert "alert type 'RED_STATUS'" in message
    assert "resident_profile.health_status" in message


def test_a_welfare_check_needs_water_activity_as_well_as_living_alone(tmp_path: Path) -> None:
    message = refusal(
        tmp_path,
        {
            "resident_profile": {"fields": ["elderly_living_alone"]},
            "household": HOUSEHOLD,
            "alert": {"alert_types": ["WELFARE_CHECK"]},
        },
    )
    assert "alert type 'WELFARE_CHECK'" in message
    assert "household.last_water_activity_at" in message


def test_an_alert_grant_names_its_alert_types(tmp_path: Path) -> None:
    message = refusal(tmp_path, {"alert": {}})
    assert "view 'alert'" in message and "alert_types" in message
    message = refusal(tmp_path, {"alert": {"alert_types": ["FIRE"]}})
    assert "alert type 'FIRE'" in message and "no such alert type" in message


def test_a_dwelling_id_without_building_unit_and_room_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, {"resident_profile": {"fields": ["dwelling_id"]}})
    assert "view 'resident_profile'" in message and "field 'dwelling_id'" in message
    assert "household.building" in message
    message = refusal(tmp_path, {"household": {"fields": ["address"]}})
    assert "field 'dwelling_id'" in message  # the household view's key is one


def test_field_classes_must_say_what_raises_every_alert_type(tmp_path: Path) -> None:
    classes = yaml.safe_load(DEFAULT_FIELD_CLASSES_FILE.read_text())
    del classes["derived"]["alert_types"]["RED_STATUS"]
    (tmp_path / "classes.yaml").write_text(yaml.safe_dump(classes))
    path = tmp_path / "sharing.yaml"
    views: dict[str, Any] = {"community_situation": {}}
    body = {"purpose": "p", "communities": "*", "views": views}
    path.write_text(yaml.safe_dump({"audiences": {"desk": body}, "field_classes": "classes.yaml"}))
    with pytest.raises(PolicyError, match=r"classes.yaml: derived: alert_types: 'RED_STATUS'"):
        load_policy(path, CATALOG)


# --- the filter --------------------------------------------------------------------------------


def test_an_alert_of_a_type_not_granted_is_not_there_for_the_reader() -> None:
    red = alert("RED_STATUS", "HEALTH_STATUS_RED", {})
    health = SHIPPED.grant("health-department", "alert")
    civil = SHIPPED.grant("civil-affairs", "alert")
    assert health is not None and civil is not None
    assert filter_record(health, red) is not None
    assert filter_record(civil, red) is None


def test_a_reason_is_rendered_with_the_values_the_reader_is_granted_only() -> None:
    welfare = alert("WELFARE_CHECK", "NO_WATER_USE", {"hours": 26, "since": H0 + 2 * HOUR})
    grid = SHIPPED.grant("grid-office-610103001001", "alert")
    assert grid is not None
    shown = filter_record(grid, welfare)
    assert shown is not None
    # hours tells when the meter was last read, which nobody is granted.
    assert shown["reason_params"] == {"since": H0 + 2 * HOUR}
    assert shown["reason"] == (
        "elderly resident living alone: no water use for 24 hours or more"
        " (since 2024-06-01 02:00 UTC)"
    )


def test_a_reason_without_its_values_still_says_why() -> None:
    risk = alert("ISOLATION_RISK", "NO_SEPARATE_ROOM", {"resident_count": 3})
    health = SHIPPED.grant("health-department", "alert")
    assert health is not None
    assert "all 3 residents" in (filter_record(health, risk) or {})["reason"]
    # An audience granted ISOLATION_RISK without the resident count (a policy of the future).
    uncounted = replace(health, derived=replace(health.derived, reason_params=frozenset()))
    bare = filter_record(uncounted, risk)
    assert bare is not None and bare["reason_params"] == {}
    assert bare["reason"] == (
        "home quarantine where no one can isolate apart: its residents are isolated together"
    )


def test_provenance_event_ids_are_withheld_from_a_reader_not_granted_the_subject() -> None:
    delivery = alert("QUARANTINE_DELIVERY", "DELIVERY_NOT_FULFILLED", {"due_at": H0})
    commerce = SHIPPED.grant("commerce-delivery", "alert")
    grid = SHIPPED.grant("grid-office-610103001001", "alert")
    assert commerce is not None and grid is not None
    # The delivery's event id is its delivery id, a key: only with every subject field.
    assert (filter_record(commerce, delivery) or {})["provenance"]["opened_at"] == {
        "department": "commerce",
        "event_time_ms": H0,
    }
    assert (filter_record(grid, delivery) or {})["provenance"]["opened_at"]["event_id"] == (
        "PS20240529000009"
    )


def test_words_stored_before_reasons_were_coded_are_never_shared() -> None:
    grid = SHIPPED.grant("grid-office-610103001001", "alert")
    assert grid is not None
    stored = {
        **alert("WELFARE_CHECK", "NO_WATER_USE", {"since": H0}),
        "reason": "elderly resident living alone: no water use for 31 hours (since 06-01 00:00)",
    }
    shown = filter_record(grid, stored)
    assert shown is not None and "31 hours" not in shown["reason"]
    legacy = {**stored, "reason_code": None, "reason_params": {}}
    assert "reason" not in (filter_record(grid, legacy) or {})


def test_a_live_reader_gets_no_change_of_an_alert_type_it_is_not_granted() -> None:
    civil = SHIPPED.grant("civil-affairs", "alert")
    assert civil is not None
    scope = ReadScope(Reader("t1", "desk", "civil-affairs", civil.purpose), civil, None)
    assert scope.filter(alert("RED_STATUS", "HEALTH_STATUS_RED", {})) is None
    welfare = scope.filter(alert("WELFARE_CHECK", "NO_WATER_USE", {"since": H0}))
    assert welfare is not None and welfare["reason"].endswith("(since 2024-06-01 00:00 UTC)")
    # A deletion carries only the (opaque) key and community: it reaches the reader, who may
    # have seen the row, and tells nothing of it.
    assert scope.filter({"alert_id": "0c29535a", "community_code": "610103001001"}) is not None


# --- counts of alerts by type ------------------------------------------------------------------


def situation(open_alerts: dict[str, int]) -> dict[str, Any]:
    """A community_situation record as every read path renders it, before the policy."""
    source = {"department": "merge", "event_id": "e1", "event_time_ms": H0}
    return {
        "community_code": "610103001001",
        "residents": 812,
        "open_alerts": open_alerts,
        "provenance": {"residents": source, "open_alerts": source},
    }


def known_types(audience: str) -> set[str]:
    """The alert types whose raising fields (the issue's table) the audience reads."""
    return {
        kind
        for kind, inputs in RAISED_BY.items()
        if all(name in granted(audience, view) for view, name in inputs)
    }


@pytest.mark.parametrize(
    "audience", [a for a in SHIPPED.audiences if granted(a, "community_situation")]
)
def test_a_count_by_alert_type_shows_only_types_the_reader_may_know_and_never_few(
    audience: str,
) -> None:
    grant = SHIPPED.grant(audience, "community_situation")
    assert grant is not None
    counts = {"RED_STATUS": 1, "WELFARE_CHECK": 4, "ISOLATION_RISK": 0, "QUARANTINE_DELIVERY": 5}
    # Five is the documented default: 1 to 4 could single out a household.
    few = {"RED_STATUS": None, "WELFARE_CHECK": None, "ISOLATION_RISK": 0, "QUARANTINE_DELIVERY": 5}
    known = known_types(audience)
    shown = filter_record(grant, situation(counts))
    assert shown is not None
    assert shown["open_alerts"] == {t: n for t, n in few.items() if t in known}
    assert ("open_alerts" in shown["provenance"]) == (known == set(RAISED_BY))
    assert shown["residents"] == 812


def test_the_community_dashboard_counts_no_alert_type() -> None:
    grant = SHIPPED.grant("community-dashboard", "community_situation")
    assert grant is not None
    shown = filter_record(grant, situation({"RED_STATUS": 9, "WELFARE_CHECK": 30}))
    assert shown is not None and shown["open_alerts"] == {}
    assert set(shown["provenance"]) == {"residents"}


def test_the_smallest_count_shown_is_a_setting(tmp_path: Path) -> None:
    policy = load_policy(DEFAULT_POLICY_FILE, CATALOG, min_shown_count=2)
    grant = policy.grant("grid-office-610103001001", "community_situation")
    assert grant is not None
    shown = filter_record(grant, situation({"RED_STATUS": 1, "WELFARE_CHECK": 2}))
    assert shown is not None and shown["open_alerts"] == {"RED_STATUS": None, "WELFARE_CHECK": 2}


def test_a_live_situation_change_counts_only_what_the_subscriber_may_know() -> None:
    grant = SHIPPED.grant("civil-affairs", "community_situation")
    assert grant is not None
    scope = ReadScope(Reader("t1", "desk", "civil-affairs", grant.purpose), grant, None)
    subscriber = Subscriber(
        "community_situation",
        "community_code",
        {},
        community=None,
        record_filter=scope.filter,
        max_pending=10,
    )
    record = situation({"RED_STATUS": 7, "WELFARE_CHECK": 6, "ISOLATION_RISK": 2})
    change = Change("community_situation", 0, 0, "610103001001", record, "610103001001")
    delivery = subscriber.deliver(change)
    assert delivery is not None and delivery.data["open_alerts"] == {"WELFARE_CHECK": 6}
    fewer = situation({"RED_STATUS": 7, "WELFARE_CHECK": 3})
    delivery = subscriber.deliver(replace(change, offset=1, record=fewer))
    assert delivery is not None and delivery.data["open_alerts"] == {"WELFARE_CHECK": None}
