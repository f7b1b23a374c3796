"""The sharing request lifecycle: filing, review, answers, escalation, withdrawal, expiry,
and each stage's deadline in working days (dates written from the 2026 calendar by hand:
see ``test_working_days.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from schemas.catalog import Catalog
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.access.request_documents import from_document, to_document
from services.access.request_steps import decide, escalate, file_request, review, withdraw
from services.access.sharing_requests import (
    Actor,
    Filing,
    RequestError,
    SharingRequest,
    overdue_stages,
)
from services.access.working_days import WorkingCalendar

CATALOG = Catalog.load()
POLICY = load_policy(DEFAULT_POLICY_FILE, CATALOG)
OWNERS = {str(v.view): v.field_owners for v in CATALOG.views()}
CIVIL = Actor("t1", "civil-affairs-t1", "civil-affairs", None)
OPERATOR = Actor("t2", "operator", None, "datong")
HEALTH = Actor("t3", "health-t3", None, "health")
POLICE = Actor("t4", "police-t4", None, "public-security")
CALENDAR = WorkingCalendar()  # the installed package's (2026 is in chinese-calendar 1.11.0)
# Wed 30 September 2026, 10:00 in Beijing: the last working day before National Day.
BEFORE_NATIONAL_DAY = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


def filed(at: datetime = BEFORE_NATIONAL_DAY, **changes: Any) -> SharingRequest:
    filing = Filing(
        audience="civil-affairs",
        view="resident_profile",
        # health_status: the grid offices read it (published: 5 days); household_no is
        # not_shared; latest_test_result: the health department reads it (5 days).
        fields=("health_status", "latest_test_result", "household_no"),
        purpose="welfare visits to residents in poor health",
        scenario="winter visits",
        needed_days=90,
    )
    for name, value in changes.items():
        filing = Filing(**{**filing.__dict__, name: value})
    return file_request(
        filing, CIVIL, POLICY, OWNERS[filing.view], "req-1", now=at, calendar=CALENDAR
    )


def decisions(request: SharingRequest) -> dict[str, str]:
    return {f.name: f.decision for f in request.fields}


def test_a_not_shared_field_is_refused_at_filing_with_its_reason() -> None:
    request = filed()
    assert request.state == "filed"
    assert decisions(request)["household_no"] == "refused"
    refused = next(f for f in request.fields if f.name == "household_no")
    assert refused.reason is not None and "不予共享" in refused.reason
    assert request.review_due.day == date(2026, 10, 9)  # 2 working days: Oct 8, Oct 9


def test_review_forwards_conditional_fields_with_their_owners_deadlines() -> None:
    # Reviewed Fri 18 September 2026 at 09:00 in Beijing: 5 working days end Thu 24.
    at = datetime(2026, 9, 18, 1, 0, tzinfo=UTC)
    request = review(filed(at), OPERATOR, True, None, at, calendar=CALENDAR)
    assert request.state == "forwarded"
    assert request.provider_due["health"].day == date(2026, 9, 24)
    assert decisions(request)["health_status"] == "pending"


def test_a_field_nobody_reads_yet_gives_its_owner_ten_working_days() -> None:
    # household.last_water_reading_at (utilities) is read by no audience today.
    at = datetime(2026, 10, 3, 2, 0, tzinfo=UTC)  # a holiday
    request = filed(at, fields=("last_water_reading_at",), view="household")
    assert request.review_due.day == date(2026, 10, 9)
    request = review(request, OPERATOR, True, None, at, calendar=CALENDAR)
    assert request.provider_due["utilities"].day == date(2026, 10, 20)


def test_an_owner_grants_one_field_and_refuses_another_with_a_reason() -> None:
    request = review(filed(), OPERATOR, True, None, BEFORE_NATIONAL_DAY, calendar=CALENDAR)
    request = decide(request, HEALTH, ["health_status"], True, None, now=BEFORE_NATIONAL_DAY)
    assert request.state == "forwarded"
    with pytest.raises(RequestError) as caught:
        decide(request, HEALTH, ["latest_test_result"], False, None, now=BEFORE_NATIONAL_DAY)
    assert caught.value.status == 400 and caught.value.field == "reason"
    request = decide(
        request, HEALTH, ["latest_test_result"], False, "not needed", now=BEFORE_NATIONAL_DAY
    )
    assert request.state == "resolved"
    assert request.granted() == ("health_status",)


def test_only_the_owning_department_answers_for_a_field() -> None:
    request = review(filed(), OPERATOR, True, None, BEFORE_NATIONAL_DAY, calendar=CALENDAR)
    with pytest.raises(RequestError) as caught:
        decide(request, POLICE, ["health_status"], True, None, now=BEFORE_NATIONAL_DAY)
    assert caught.value.status == 403


def test_a_refusal_escalated_is_the_operators_to_decide() -> None:
    request = review(filed(), OPERATOR, True, None, BEFORE_NATIONAL_DAY, calendar=CALENDAR)
    request = decide(
        request,
        HEALTH,
        ["health_status", "latest_test_result"],
        False,
        "no",
        now=BEFORE_NATIONAL_DAY,
    )
    request = escalate(request, CIVIL, [], "welfare needs it", BEFORE_NATIONAL_DAY)
    assert request.state == "escalated"
    assert decisions(request)["household_no"] == "refused"  # not_shared is never disputable
    with pytest.raises(RequestError):
        decide(request, HEALTH, ["health_status"], True, None, now=BEFORE_NATIONAL_DAY)
    request = decide(request, OPERATOR, ["health_status"], True, None, now=BEFORE_NATIONAL_DAY)
    assert decisions(request)["health_status"] == "granted"


def test_review_and_provider_answers_become_overdue_after_their_deadlines() -> None:
    request = filed()
    assert overdue_stages(request, datetime(2026, 10, 9, 15, 0, tzinfo=UTC)) == []
    assert overdue_stages(request, datetime(2026, 10, 9, 16, 0, tzinfo=UTC)) == [
        ("review", "datong")
    ]
    request = review(request, OPERATOR, True, None, BEFORE_NATIONAL_DAY, calendar=CALENDAR)
    late = datetime(2026, 10, 13, 16, 0, tzinfo=UTC)  # 14 October in Beijing
    assert overdue_stages(request, late) == [("provider", "health")]


def test_a_request_expires_when_the_time_it_was_needed_for_is_over() -> None:
    request = filed()
    assert request.state_at(BEFORE_NATIONAL_DAY + timedelta(days=90)) == "expired"
    with pytest.raises(RequestError) as caught:
        review(
            request,
            OPERATOR,
            True,
            None,
            BEFORE_NATIONAL_DAY + timedelta(days=91),
            calendar=CALENDAR,
        )
    assert caught.value.status == 409


def test_only_the_requester_withdraws() -> None:
    request = filed()
    with pytest.raises(RequestError):
        withdraw(request, HEALTH, None, BEFORE_NATIONAL_DAY)
    assert withdraw(request, CIVIL, "no longer needed", BEFORE_NATIONAL_DAY).state == "withdrawn"


def test_a_request_for_other_communities_than_its_grant_is_refused_naming_the_field() -> None:
    with pytest.raises(RequestError) as caught:
        filed(communities=frozenset({"999"}))
    assert caught.value.field == "communities"


def test_a_field_already_read_is_refused_at_filing() -> None:
    with pytest.raises(RequestError) as caught:
        filed(fields=("name_masked",))
    assert caught.value.field == "fields"


def test_a_request_survives_its_document() -> None:
    request = review(filed(), OPERATOR, True, None, BEFORE_NATIONAL_DAY, calendar=CALENDAR)
    assert from_document(to_document(request)) == request


def test_a_derived_field_is_refused_unless_its_inputs_are_read_or_asked_for() -> None:
    # alert.delivery_id is derived from household.open_deliveries (field_classes.yaml),
    # which the community dashboard does not read.
    dashboard = Actor("t5", "dashboard", "community-dashboard", None)
    filing = Filing("community-dashboard", "alert", ("delivery_id",), "p", "s", 30)
    with pytest.raises(RequestError) as caught:
        file_request(
            filing,
            dashboard,
            POLICY,
            OWNERS["alert"],
            "req-2",
            now=BEFORE_NATIONAL_DAY,
            calendar=CALENDAR,
        )
    assert caught.value.field == "fields" and "open_deliveries" in str(caught.value)
    # resident_profile.dwelling_id is derived from household building, unit and room, which
    # commerce-delivery reads: it may ask for it.
    commerce = Actor("t6", "commerce", "commerce-delivery", None)
    filing = Filing("commerce-delivery", "resident_profile", ("dwelling_id",), "p", "s", 30)
    owners = OWNERS["resident_profile"]
    asked = file_request(
        filing, commerce, POLICY, owners, "req-3", now=BEFORE_NATIONAL_DAY, calendar=CALENDAR
    )
    assert decisions(asked) == {"dwelling_id": "pending"}


@pytest.mark.parametrize("fields", [(), ("health_status", "health_status")])
def test_a_request_names_each_field_once_and_at_least_one(fields: tuple[str, ...]) -> None:
    with pytest.raises(RequestError) as caught:
        filed(fields=fields)
    assert caught.value.field == "fields"


@pytest.mark.parametrize("days", [0, 367])
def test_a_request_is_needed_for_one_day_to_a_year(days: int) -> None:
    with pytest.raises(RequestError) as caught:
        filed(needed_days=days)
    assert caught.value.field == "needed_days"
