"""A grid office's work on an alert, pure: the body parsed strictly, who may act, the events.

Expected values are written from docs/api.md's rules for ``POST /alerts/{alert_id}/work``.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.access.derivation import DerivedGrant
from services.access.policy import Grant
from services.api import alert_work
from services.api.alert_work import Work, WorkRefused, parse_work, refusal
from services.errors import ConfigError
from services.setting_defaults import DEFAULT_ALERT_RESPONSE_HOURS
from services.setting_values import response_hours

DEPARTMENTS = ("health", "civil-affairs", "grid")
ALERT = {
    "alert_id": "a" * 32,
    "alert_type": "WELFARE_CHECK",
    "community_code": "C1",
    "grid_id": "G-1",
    "opened_at": 1_000_000,
    "task_id": None,
}


def grant(fields: set[str], types: set[str] | None, communities: set[str] | None) -> Grant:
    return Grant(
        "grid-office",
        "welfare checks",
        "alert",
        frozenset(fields),
        None if communities is None else frozenset(communities),
        DerivedGrant(alert_types=None if types is None else frozenset(types)),
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"action": "close"}, "action"),
        ({"action": "take"}, "assignee_code"),
        ({"action": "take", "assignee_code": "王 五"}, "assignee_code"),
        ({"action": "take", "assignee_code": "W" * 33}, "assignee_code"),
        ({"action": "take", "assignee_code": "W-1", "note": "x"}, "note"),
        ({"action": "visit"}, "outcome"),
        ({"action": "visit", "outcome": "REFERRED"}, "referred_to"),
        ({"action": "visit", "outcome": "DONE", "referred_to": "health"}, "referred_to"),
        ({"action": "visit", "outcome": "DONE", "note": 5}, "note"),
        ({"action": "visit", "outcome": "DONE", "note": "x" * 501}, "note"),
        ({"action": "visit", "outcome": "DONE", "note": "ring 138-1234-5678"}, "note"),
        ({"action": "visit", "outcome": "DONE", "note": "id 11010519491231002X"}, "note"),
    ],
)
def test_a_bad_body_is_refused_naming_its_field(body: Any, field: str) -> None:
    with pytest.raises(WorkRefused) as refused:
        parse_work(body, DEPARTMENTS)
    assert (refused.value.status, refused.value.field) == (422, field)


def test_a_good_body_is_read_as_it_was_meant() -> None:
    assert parse_work({"action": "take", "assignee_code": "W-007"}, DEPARTMENTS) == Work(
        "take", assignee_code="W-007"
    )
    visit = {"action": "visit", "outcome": "REFERRED", "referred_to": "health", "note": " ok "}
    assert parse_work(visit, DEPARTMENTS) == Work(
        "visit", outcome="REFERRED", referred_to="health", note="ok"
    )


def test_only_an_audience_granted_the_type_the_community_and_the_subject_may_act() -> None:
    everything = {"alert_id", "alert_type", "community_code", "subject_key"}
    assert refusal(grant(everything, {"WELFARE_CHECK"}, {"C1"}), "g", ALERT) is None
    assert "granted no alerts" in str(refusal(None, "g", ALERT))
    assert "type or community" in str(refusal(grant(everything, {"RED_STATUS"}, None), "g", ALERT))
    assert "type or community" in str(refusal(grant(everything, None, {"C2"}), "g", ALERT))
    no_subject = refusal(grant(everything - {"subject_key"}, None, None), "g", ALERT)
    assert no_subject is not None and "alert.subject_key" in no_subject


def test_taking_an_alert_makes_it_due_when_its_types_response_limit_runs_out() -> None:
    record = alert_work.task_assigned(
        ALERT, Work("take", assignee_code="W-1"), 5_000_000, "T-1", "e-1", {"WELFARE_CHECK": 24}
    )
    assert record["due_at"] == 1_000_000 + 24 * 3_600_000
    assert (record["alert_id"], record["assignee_code"], record["kind"]) == (
        "a" * 32,
        "W-1",
        "ALERT_RESPONSE",
    )


def test_a_visit_names_the_current_task_and_needs_one() -> None:
    visit = Work("visit", outcome="NOBODY_HOME")
    with pytest.raises(WorkRefused) as refused:
        alert_work.task_completed(ALERT, visit, 5, "e-2")
    assert refused.value.status == 409
    record = alert_work.task_completed({**ALERT, "task_id": "T-1"}, visit, 5, "e-2")
    assert (record["task_id"], record["visit_outcome"], record["outcome"]) == (
        "T-1",
        "NOBODY_HOME",
        "UNABLE_TO_COMPLETE",
    )


def test_response_limits_are_set_per_type_over_the_defaults() -> None:
    limits = response_hours("WELFARE_CHECK=12, RED_STATUS=2", DEFAULT_ALERT_RESPONSE_HOURS)
    assert limits == {**DEFAULT_ALERT_RESPONSE_HOURS, "WELFARE_CHECK": 12, "RED_STATUS": 2}
    assert response_hours(None, DEFAULT_ALERT_RESPONSE_HOURS) == DEFAULT_ALERT_RESPONSE_HOURS
    for bad in ("WELFARE=3", "RED_STATUS=0", "RED_STATUS=soon"):
        with pytest.raises(ConfigError, match="ALERT_RESPONSE_HOURS"):
            response_hours(bad, DEFAULT_ALERT_RESPONSE_HOURS)


def test_an_open_alert_is_overdue_past_its_due_time_or_its_types_limit_unless_referred() -> None:
    limits = {"WELFARE_CHECK": 24, "RED_STATUS": 4}
    hour = 3_600_000
    untaken = {**ALERT, "status": "OPEN", "due_at": None, "visit_outcome": None}
    assert not alert_work.overdue(untaken, limits, 1_000_000 + 24 * hour)
    assert alert_work.overdue(untaken, limits, 1_000_000 + 24 * hour + 1)
    taken = {**untaken, "due_at": 1_000_000 + 2 * hour}  # the task's due time wins
    assert alert_work.overdue(taken, limits, 1_000_000 + 3 * hour)
    assert not alert_work.overdue({**taken, "status": "CLOSED"}, limits, 10**12)
    assert not alert_work.overdue({**taken, "visit_outcome": "REFERRED"}, limits, 10**12)
    assert alert_work.overdue({**taken, "visit_outcome": "NOBODY_HOME"}, limits, 10**12)
    counts = alert_work.overdue_counts([taken, untaken], limits, 1_000_000 + 3 * hour)
    assert counts == {"WELFARE_CHECK": 1, "RED_STATUS": 0}
