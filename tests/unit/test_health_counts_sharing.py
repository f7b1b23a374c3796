"""Counts of residents by their health data keep the class of what they count (issue 15).

Written from the rules, not from the field classes: a community's unvaccinated elderly living
alone are counted from resident_profile ``elderly_living_alone`` and ``vaccination_doses``, its
residents without a recent negative test from ``latest_test_result`` and ``latest_test_at``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.catalog import Catalog
from services.access.policy import PolicyError, filter_record
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy

CATALOG = Catalog.load()
SHIPPED = load_policy(DEFAULT_POLICY_FILE, CATALOG)
COUNTED_FROM = {
    "elderly_alone_unvaccinated": {"elderly_living_alone", "vaccination_doses"},
    "residents_without_negative_test": {"latest_test_result", "latest_test_at"},
}


def situation(**counts: int | None) -> dict[str, Any]:
    """A community_situation record as the read paths render it, before the policy."""
    return {"community_code": "610103001001", "residents": 812, **counts}


def refusal(tmp_path: Path, views: dict[str, Any]) -> str:
    body = {"purpose": "p", "communities": "*", "views": views}
    path = tmp_path / "sharing.yaml"
    path.write_text(yaml.safe_dump({"audiences": {"desk": body}}))
    with pytest.raises(PolicyError) as caught:
        load_policy(path, CATALOG)
    return str(caught.value)


@pytest.mark.parametrize(
    "audience", sorted(a for a in SHIPPED.audiences if SHIPPED.grant(a, "community_situation"))
)
def test_an_audience_reads_a_health_count_only_with_what_it_counts(audience: str) -> None:
    grant = SHIPPED.grant(audience, "community_situation")
    profile = SHIPPED.grant(audience, "resident_profile")
    assert grant is not None
    shown = filter_record(
        grant, situation(elderly_alone_unvaccinated=40, residents_without_negative_test=300)
    )
    assert shown is not None
    for count, inputs in COUNTED_FROM.items():
        if count in shown:
            assert profile is not None and inputs <= profile.fields, (audience, count)


def test_the_health_department_reads_both_and_the_dashboard_neither() -> None:
    record = situation(elderly_alone_unvaccinated=40, residents_without_negative_test=300)
    for audience, expected in (
        (
            "health-department",
            {"elderly_alone_unvaccinated": 40, "residents_without_negative_test": 300},
        ),
        ("community-dashboard", {}),
        ("civil-affairs", {}),
    ):
        grant = SHIPPED.grant(audience, "community_situation")
        assert grant is not None
        shown = filter_record(grant, record)
        assert shown is not None
        assert {k: v for k, v in shown.items() if k in COUNTED_FROM} == expected, audience


@pytest.mark.parametrize(("count", "seen"), [(0, 0), (1, None), (4, None), (5, 5), (None, None)])
def test_a_small_health_count_is_null_and_none_stays_null(
    count: int | None, seen: int | None
) -> None:
    grant = SHIPPED.grant("health-department", "community_situation")  # the default: 5
    assert grant is not None
    shown = filter_record(
        grant, situation(elderly_alone_unvaccinated=count, residents_without_negative_test=count)
    )
    assert shown is not None
    assert shown["elderly_alone_unvaccinated"] == seen
    assert shown["residents_without_negative_test"] == seen
    assert shown["residents"] == 812  # a count of everyone is not suppressed


def test_the_smallest_health_count_shown_follows_the_setting() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE, CATALOG, min_shown_count=2)
    grant = policy.grant("health-department", "community_situation")
    assert grant is not None
    shown = filter_record(
        grant, situation(elderly_alone_unvaccinated=1, residents_without_negative_test=2)
    )
    assert shown is not None
    assert (shown["elderly_alone_unvaccinated"], shown["residents_without_negative_test"]) == (
        None,
        2,
    )


@pytest.mark.parametrize(
    ("count", "profile", "missing"),
    [
        (
            "residents_without_negative_test",
            ["latest_test_result"],
            "resident_profile.latest_test_at",
        ),
        ("residents_without_negative_test", [], "resident_profile.latest_test_result"),
        (
            "elderly_alone_unvaccinated",
            ["elderly_living_alone"],
            "resident_profile.vaccination_doses",
        ),
    ],
)
def test_a_policy_granting_a_health_count_without_its_inputs_is_refused(
    tmp_path: Path, count: str, profile: list[str], missing: str
) -> None:
    views: dict[str, Any] = {"community_situation": {"fields": [count]}}
    if profile:
        views["resident_profile"] = {"fields": profile}
    message = refusal(tmp_path, views)
    assert "audience 'desk'" in message and f"field '{count}'" in message
    assert missing in message
