"""Emergencies as a layer over the base policy: what they open, for how long, to whom, who may
declare them, and that none ever opens a not_shared field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.catalog import Catalog
from services.access.emergency import Emergency, Opening, open_extensions
from services.access.emergency_rules import (
    Actor,
    EmergencyError,
    check_declarer,
    check_openings,
    parse_declaration,
)
from services.access.layering import Extension, layer_uses, layered_grant
from services.access.policy_file import DEFAULT_FIELD_CLASSES_FILE, load_policy

POLICY = load_policy()
CIVIL = "civil-affairs"
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
OPERATOR = Actor("operator", "operator", "ops")
HEALTH = Actor("department:health", "tok123", "epidemic desk")
OWNERS = {v.view: v.field_owners for v in Catalog.load().views() if v.view}

# The oracle: the not_shared fields, read straight from the field-class file.
_CLASSES = yaml.safe_load(Path(DEFAULT_FIELD_CLASSES_FILE).read_text(encoding="utf-8"))["views"]
NOT_SHARED = {
    (v, f) for v, fields in _CLASSES.items() for f, c in fields.items() if c == "not_shared"
}
ALL_FIELDS = sorted((v, f) for v, fields in _CLASSES.items() for f in fields)


def emergency(opening: Opening, hours: int = 48, ended: datetime | None = None) -> Emergency:
    return Emergency(
        "em-1",
        "operator",
        "flood",
        T0,
        T0 + timedelta(hours=hours),
        {opening.audience: opening},
        ended_at=ended,
    )


HEALTH_STATUS = Opening(CIVIL, {"resident_profile": frozenset({"health_status"})})


def test_an_open_emergency_adds_its_fields_to_the_audiences_grant() -> None:
    base = layered_grant(POLICY, CIVIL, "resident_profile", [])
    assert base is not None and "health_status" not in base.grant.fields
    layered = layered_grant(
        POLICY, CIVIL, "resident_profile", open_extensions([emergency(HEALTH_STATUS)], T0)
    )
    assert layered is not None
    assert layered.grant.fields == base.grant.fields | {"health_status"}


def test_an_emergency_reverts_by_itself_at_its_expiry() -> None:
    declared = emergency(HEALTH_STATUS, hours=2)
    just_before = T0 + timedelta(hours=2) - timedelta(microseconds=1)
    assert open_extensions([declared], just_before)
    assert open_extensions([declared], T0 + timedelta(hours=2)) == ()
    assert declared.status(T0 + timedelta(hours=3)) == "expired"
    layered = layered_grant(
        POLICY, CIVIL, "resident_profile", open_extensions([declared], T0 + timedelta(hours=2))
    )
    assert layered is not None and "health_status" not in layered.grant.fields


def test_an_ended_emergency_opens_nothing_and_says_it_was_ended() -> None:
    ended = emergency(HEALTH_STATUS, ended=T0 + timedelta(hours=1))
    assert open_extensions([ended], T0 + timedelta(minutes=90)) == ()
    assert ended.status(T0 + timedelta(minutes=90)) == "ended"
    assert open_extensions([ended], T0 + timedelta(minutes=30))  # it was open until then


def test_an_emergency_of_another_audience_changes_nothing() -> None:
    other = Opening("public-security", {"resident_profile": frozenset({"health_status"})})
    layered = layered_grant(
        POLICY, CIVIL, "resident_profile", open_extensions([emergency(other)], T0)
    )
    assert layered is not None and "health_status" not in layered.grant.fields


def test_a_view_opened_by_an_emergency_alone_shows_its_unconditional_and_named_fields() -> None:
    opened = {"quarantined", "building", "unit", "room_number"}  # its key spells out the last 3
    opening = Opening("community-dashboard", {"household": frozenset(opened)})
    assert layered_grant(POLICY, "community-dashboard", "household", []) is None
    layered = layered_grant(
        POLICY, "community-dashboard", "household", open_extensions([emergency(opening)], T0)
    )
    assert layered is not None
    unconditional = {f for f, c in _CLASSES["household"].items() if c == "unconditional"}
    assert layered.grant.fields == frozenset(unconditional | opened)
    with pytest.raises(EmergencyError, match="dwelling_id"):  # the key without what it spells
        check_openings(
            POLICY,
            {
                "community-dashboard": Opening(
                    "community-dashboard", {"household": frozenset({"quarantined"})}
                )
            },
        )


def test_extra_communities_widen_the_grant_and_every_community_is_star() -> None:
    code = Opening("grid-office-110105001001", communities=frozenset({"610103001001"}))
    layered = layered_grant(
        POLICY, "grid-office-110105001001", "household", open_extensions([emergency(code)], T0)
    )
    assert layered is not None
    assert layered.grant.communities == frozenset({"110105001001", "610103001001"})
    star = Opening("grid-office-110105001001", communities=None)
    layered = layered_grant(
        POLICY, "grid-office-110105001001", "household", open_extensions([emergency(star)], T0)
    )
    assert layered is not None and layered.grant.communities is None


def test_a_read_is_under_the_emergency_only_when_it_took_what_only_the_emergency_gives() -> None:
    layered = layered_grant(
        POLICY, CIVIL, "resident_profile", open_extensions([emergency(HEALTH_STATUS)], T0)
    )
    assert layered is not None
    base_only = frozenset({"person_key", "community_code", "address"})
    assert layer_uses(layered, base_only, None) == ()
    (use,) = layer_uses(layered, base_only | {"health_status"}, None)
    assert (use.source_id, use.fields, use.as_record()) == (
        "em-1",
        frozenset({"health_status"}),
        {"fields": ["health_status"], "communities": []},
    )


def test_a_read_of_a_community_only_the_emergency_opens_is_under_it() -> None:
    grid = "grid-office-110105001001"
    opening = Opening(grid, communities=frozenset({"610103001001"}))
    layered = layered_grant(POLICY, grid, "household", open_extensions([emergency(opening)], T0))
    assert layered is not None
    fields = layered.grant.fields
    assert layer_uses(layered, fields, frozenset({"110105001001"})) == ()
    (use,) = layer_uses(layered, fields, frozenset({"610103001001"}))
    assert use.as_record() == {"fields": [], "communities": ["610103001001"]}
    (use,) = layer_uses(layered, fields, None)
    assert use.communities == frozenset({"610103001001"})


@pytest.mark.parametrize(("view", "field"), sorted(NOT_SHARED))
def test_declaring_a_not_shared_field_is_refused_naming_it(view: str, field: str) -> None:
    opening = Opening(CIVIL, {view: frozenset({field})})
    with pytest.raises(EmergencyError) as refused:
        check_openings(POLICY, {CIVIL: opening})
    assert f"{field!r}: is not_shared" in str(refused.value)
    assert refused.value.field == f"audiences.{CIVIL}.views.{view}.fields"


@settings(max_examples=300, deadline=None)
@given(
    audience=st.sampled_from(sorted(POLICY.audiences)),
    chosen=st.lists(st.sampled_from(ALL_FIELDS), max_size=8, unique=True),
    every_community=st.booleans(),
)
def test_no_emergency_ever_exposes_a_not_shared_field(
    audience: str, chosen: list[tuple[str, str]], every_community: bool
) -> None:
    fields: dict[str, frozenset[str]] = {}
    for view, name in chosen:
        fields[view] = fields.get(view, frozenset()) | {name}
    opening = Opening(audience, fields, {}, None if every_community else frozenset())
    try:
        check_openings(POLICY, {audience: opening})
    except EmergencyError:
        accepted = False
    else:
        accepted = True
    assert not (accepted and any((v, f) in NOT_SHARED for v, f in chosen))
    # Even handed straight to the composition, past every check, a not_shared field stays out.
    extension = Extension("emergency", "em-x", audience, fields, {}, None)
    for view in _CLASSES:
        try:
            layered = layered_grant(POLICY, audience, view, [extension])
        except Exception:  # a derived value without its inputs: refused, nothing shown
            continue
        if layered is not None:
            assert not {(view, f) for f in layered.grant.fields} & NOT_SHARED


def test_a_derived_value_is_not_opened_without_its_inputs() -> None:
    red = Opening(CIVIL, {"alert": frozenset()}, {"alert": frozenset({"RED_STATUS"})})
    with pytest.raises(EmergencyError, match="health_status"):
        check_openings(POLICY, {CIVIL: red})
    with_input = Opening(
        CIVIL,
        {"alert": frozenset(), "resident_profile": frozenset({"health_status"})},
        {"alert": frozenset({"RED_STATUS"})},
    )
    check_openings(POLICY, {CIVIL: with_input})
    layered = layered_grant(POLICY, CIVIL, "alert", open_extensions([emergency(with_input)], T0))
    assert layered is not None
    assert layered.grant.derived.alert_types == frozenset({"WELFARE_CHECK", "RED_STATUS"})


def test_an_alert_view_opened_without_types_shows_no_alert() -> None:
    opening = Opening("community-dashboard", {"alert": frozenset()})
    layered = layered_grant(
        POLICY, "community-dashboard", "alert", open_extensions([emergency(opening)], T0)
    )
    assert layered is not None and layered.grant.derived.alert_types == frozenset()


def test_an_unknown_audience_view_or_field_is_refused_naming_it() -> None:
    for opening, named in [
        (Opening("nobody", {"household": frozenset()}), "audiences.nobody"),
        (Opening(CIVIL, {"nowhere": frozenset()}), f"audiences.{CIVIL}.views.nowhere"),
        (Opening(CIVIL, {"household": frozenset({"x"})}), f"audiences.{CIVIL}.views.household"),
    ]:
        with pytest.raises(EmergencyError) as refused:
            check_openings(POLICY, {opening.audience: opening})
        assert refused.value.field == named


def test_the_health_department_opens_only_fields_it_owns() -> None:
    check_declarer(HEALTH, {CIVIL: HEALTH_STATUS}, OWNERS, POLICY.derivation)
    address = Opening(CIVIL, {"household": frozenset({"rooms"})})
    with pytest.raises(EmergencyError) as refused:
        check_declarer(HEALTH, {CIVIL: address}, OWNERS, POLICY.derivation)
    assert refused.value.status == 403
    check_declarer(OPERATOR, {CIVIL: address}, OWNERS, POLICY.derivation)
    with pytest.raises(EmergencyError) as refused:
        check_declarer(
            Actor("department:civil-affairs", "t", "t"),
            {CIVIL: HEALTH_STATUS},
            OWNERS,
            POLICY.derivation,
        )
    assert refused.value.status == 403


def test_a_declaration_is_read_strictly_naming_the_field() -> None:
    good: dict[str, Any] = {
        "reason": "flood in 610103001001",
        "hours": 72,
        "audiences": {
            CIVIL: {
                "communities": "*",
                "views": {"resident_profile": {"fields": ["health_status"]}},
            }
        },
    }
    parsed = parse_declaration(good)
    assert parsed.hours == 72 and parsed.openings[CIVIL].communities is None
    changes: list[tuple[dict[str, Any], str]] = [
        ({"hours": 73}, "hours"),
        ({"hours": 0}, "hours"),
        ({"hours": True}, "hours"),
        ({"hours": 1.5}, "hours"),
        ({"reason": "  "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"extra": 1}, "extra"),
        ({"audiences": {}}, "audiences"),
        (
            {"audiences": {CIVIL: {"views": {"household": {"fields": "rooms"}}}}},
            f"audiences.{CIVIL}.views.household.fields",
        ),
        ({"audiences": {CIVIL: {"communities": ["bad code!"]}}}, f"audiences.{CIVIL}"),
        ({"audiences": {CIVIL: {}}}, f"audiences.{CIVIL}"),
    ]
    for change, named in changes:
        with pytest.raises(EmergencyError) as refused:
            parse_declaration({**good, **change})
        assert refused.value.field == named, change
        assert refused.value.status == 400
