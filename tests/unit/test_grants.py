"""Grants layered over the base policy: what they add, when they end, what they never add."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml

from schemas.catalog import Catalog
from services.access.grants import ExtraGrant, layered, unshareable
from services.access.policy_file import DEFAULT_FIELD_CLASSES_FILE, DEFAULT_POLICY_FILE, load_policy

POLICY = load_policy(DEFAULT_POLICY_FILE, Catalog.load())
NOW = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)
CLASSES = yaml.safe_load(DEFAULT_FIELD_CLASSES_FILE.read_text())["views"]


def extra(fields: set[str], view: str = "resident_profile", **changes: object) -> ExtraGrant:
    base = {
        "source": "request:req-1",
        "audience": "civil-affairs",
        "view": view,
        "fields": frozenset(fields),
        "communities": None,
        "purpose": "welfare",
        "expires_at": NOW + timedelta(days=1),
    }
    return ExtraGrant(**{**base, **changes})  # type: ignore[arg-type]


def test_a_live_grant_adds_its_fields_to_the_audiences_grant_of_the_view() -> None:
    before = POLICY.grant("civil-affairs", "resident_profile")
    assert before is not None and "health_status" not in before.fields
    after = layered(POLICY, [extra({"health_status"})], NOW).grant(
        "civil-affairs", "resident_profile"
    )
    assert after is not None and after.fields == before.fields | {"health_status"}
    assert after.communities == before.communities


def test_an_expired_grant_adds_nothing() -> None:
    expired = extra({"health_status"}, expires_at=NOW)
    assert layered(POLICY, [expired], NOW).grant("civil-affairs", "resident_profile") == (
        POLICY.grant("civil-affairs", "resident_profile")
    )


def test_a_grant_of_a_view_the_audience_had_not_gives_its_unconditional_fields_too() -> None:
    grant = layered(POLICY, [extra({"health_status"}, audience="commerce-delivery")], NOW).grant(
        "commerce-delivery", "resident_profile"
    )
    unconditional = {f for f, c in CLASSES["resident_profile"].items() if c == "unconditional"}
    assert grant is not None and grant.fields == unconditional | {"health_status"}


def test_no_grant_ever_makes_a_not_shared_field_readable() -> None:
    not_shared = {
        (view, f)
        for view, fields in CLASSES.items()
        for f, c in fields.items()
        if c == "not_shared"
    }
    assert not_shared  # the shipped classes have some
    extras = [extra({f}, view=view, audience=a) for view, f in not_shared for a in POLICY.audiences]
    policy = layered(POLICY, extras, NOW)
    for audience in policy.audiences.values():
        for grant in audience.grants.values():
            assert not {(grant.view, f) for f in grant.fields} & not_shared
    assert len(unshareable(POLICY, extras)) == len(extras)
