"""Alert rules: each rule over view state, opening and closing, then through the batch merge."""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy

from schemas.serde import Serde
from services.merge import alerts, records, rules
from services.merge.alerts import Alert
from services.merge.derive import household_contributions
from services.merge.merge import RowState, Update, apply, empty_row
from services.merge.rules import HOUSEHOLD, RESIDENT_PROFILE, ViewSpec
from tests.support.keys import TEST_HMAC_KEY
from tests.support.memory_views import MemoryViews, merged_views
from tests.support.source_updates import (
    CATALOG,
    CHILD,
    COMMUNITY,
    ELDER,
    ELSEWHERE,
    GRID,
    HOME,
    LODGER,
    SPOUSE,
    assessed,
    at,
    deregistered,
    dwelling,
    fulfilled,
    health,
    lifted,
    millis_of,
    moved,
    ms,
    quarantine,
    registered,
    requested,
    water,
)
from tests.support.stores import embedded_registry


def elder_alone(*more: list[Update]) -> list[list[Update]]:
    """A registered dwelling where an elderly resident assessed as living alone lives."""
    return [dwelling(at(-2)), registered(ELDER, at(-2)), assessed(ELDER, at(-1)), *more]


def couple(rooms: int = 1, separate_bathroom: bool = False) -> list[list[Update]]:
    """Two residents of one registered dwelling."""
    return [
        dwelling(at(-2), rooms, separate_bathroom),
        registered(ELDER, at(-2)),
        registered(SPOUSE, at(-2)),
    ]


# --- the view state a rule reads: merged rows, and what residents contribute ----------------


def merged(spec: ViewSpec, updates: Iterable[Update]) -> dict[str, RowState]:
    rows: dict[str, RowState] = {}
    for one in updates:
        if one.view == spec.name:
            rows[one.key] = apply(rows.get(one.key) or empty_row(one.key), one, spec.ownership).row
    return rows


def household_state(events: Iterable[list[Update]]) -> RowState:
    """HOME's merge state: its own fields plus the entries its residents contribute."""
    updates = [one for made in events for one in made]
    row = merged(HOUSEHOLD, updates).get(HOME) or empty_row(HOME)
    entries: dict[str, Any] = {}
    for resident in merged(RESIDENT_PROFILE, updates).values():
        entries.update(household_contributions(resident).get(HOME, {}))
    return RowState(HOME, {**row.values, **entries}, row.provenance)


def household_of(state: RowState) -> dict[str, Any]:
    """The household record the rules read (fields, key and provenance)."""
    shown = records.household_record(state, {})
    assert shown is not None, "the household is shown"
    fields, provenance = shown
    return {"dwelling_id": state.key, **fields, "provenance": provenance}


def alerts_of(events: Iterable[list[Update]], alert_type: str | None = None) -> dict[str, Alert]:
    """The alerts HOME's state calls for (of one type, when given)."""
    state = household_state(events)
    found = alerts.household_alerts(state, household_of(state))
    return {k: a for k, a in found.items() if alert_type in (None, a["alert_type"])}


def resident_state(events: Iterable[list[Update]], person: str) -> RowState:
    return merged(RESIDENT_PROFILE, [one for made in events for one in made])[person]


# --- welfare check ---------------------------------------------------------------------------


def test_an_elder_living_alone_without_water_use_for_24_hours_gets_a_welfare_check() -> None:
    found = alerts_of(elder_alone(water(10.0, at(0)), water(10.0, at(24))))
    assert list(found) == [f"WELFARE_CHECK:{ELDER}"]
    alert = found[f"WELFARE_CHECK:{ELDER}"]
    assert alert["alert_type"] == "WELFARE_CHECK"
    assert alert["status"] == "OPEN"
    assert (alert["subject_kind"], alert["subject_key"]) == ("PERSON", ELDER)
    assert (alert["dwelling_id"], alert["community_code"], alert["grid_id"]) == (
        HOME,
        COMMUNITY,
        GRID,
    )
    assert alert["opened_at"] == ms(24)  # the moment the silence reached 24 hours
    assert alert["closed_at"] is None
    # The reason cites values, never words embedding them: the API renders it per audience.
    assert alert["reason_code"] == "NO_WATER_USE"
    assert alert["reason_params"] == {"hours": 24, "since": ms(0)}
    assert alert["provenance"]["opened_at"][0] == rules.UTILITIES


def test_less_than_24_hours_without_water_use_raises_no_welfare_check() -> None:
    almost = at(24) - timedelta(milliseconds=1)
    assert alerts_of(elder_alone(water(10.0, at(0)), water(10.0, almost))) == {}


def test_silence_counts_from_the_last_increase_not_from_the_first_reading() -> None:
    readings = [water(10.0, at(0)), water(11.5, at(10)), water(11.5, at(30))]
    assert alerts_of(elder_alone(*readings)) == {}
    found = alerts_of(elder_alone(*readings, water(11.5, at(34))))
    assert [a["opened_at"] for a in found.values()] == [ms(34)]
    assert found[f"WELFARE_CHECK:{ELDER}"]["reason_params"] == {"hours": 24, "since": ms(10)}


def test_the_welfare_check_closes_when_the_register_goes_up_again() -> None:
    silent = elder_alone(water(10.0, at(0)), water(10.0, at(30)))
    assert alerts_of(silent)
    assert alerts_of([*silent, water(10.2, at(31))]) == {}


def test_an_elderly_resident_not_living_alone_gets_no_welfare_check() -> None:
    events = [
        dwelling(at(-2)),
        registered(ELDER, at(-2)),
        assessed(ELDER, at(-1), living_alone=False),
        water(10.0, at(0)),
        water(10.0, at(48)),
    ]
    assert alerts_of(events) == {}


def test_a_resident_never_assessed_gets_no_welfare_check() -> None:
    events = [dwelling(at(-2)), registered(ELDER, at(-2)), water(10.0, at(0)), water(10.0, at(48))]
    assert alerts_of(events) == {}


@pytest.mark.parametrize(
    "readings",
    [[], [water(10.0, at(30))]],
    ids=["no readings", "a single reading"],
)
def test_without_two_readings_there_is_no_silence_to_measure(readings: list[list[Update]]) -> None:
    assert alerts_of(elder_alone(*readings)) == {}


def test_the_rule_itself_needs_both_water_times() -> None:
    elder = {ELDER: {"elderly_living_alone": True}}
    household = {"dwelling_id": HOME, "last_water_reading_at": ms(48)}
    assert alerts.welfare_checks(household, elder) == []
    household["last_water_activity_at"] = ms(0)
    assert [a["subject_key"] for a in alerts.welfare_checks(household, elder)] == [ELDER]


def test_readings_arriving_in_any_order_give_the_same_welfare_check() -> None:
    readings = [water(10.0, at(0)), water(12.0, at(5)), water(12.0, at(20)), water(12.0, at(40))]
    expected = alerts_of(elder_alone(*readings))
    assert [a["opened_at"] for a in expected.values()] == [ms(29)]
    for order in itertools.permutations(readings):
        assert alerts_of(elder_alone(*order)) == expected


def test_water_used_on_any_meter_keeps_the_welfare_check_away() -> None:
    kitchen = [water(10.0, at(0), "W-1"), water(10.0, at(40), "W-1")]
    bathroom = [water(3.0, at(0), "W-2"), water(3.4, at(30), "W-2")]
    assert alerts_of(elder_alone(*kitchen, *bathroom)) == {}


def test_every_meter_silent_for_24_hours_raises_the_welfare_check() -> None:
    kitchen = [water(10.0, at(0), "W-1"), water(10.0, at(40), "W-1")]
    bathroom = [water(3.0, at(0), "W-2"), water(3.4, at(10), "W-2"), water(3.4, at(20), "W-2")]
    found = alerts_of(elder_alone(*kitchen, *bathroom))
    assert [a["opened_at"] for a in found.values()] == [ms(34)]  # last use: bathroom at 10


def test_water_silence_is_measured_in_event_time() -> None:
    # Readings taken an hour apart by the meter's clock but received 30 hours apart.
    readings = [water(10.0, at(0), read_at=at(0)), water(10.0, at(30), read_at=at(1))]
    found = alerts_of(elder_alone(*readings))
    assert list(found) == [f"WELFARE_CHECK:{ELDER}"]


# --- isolation risk --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rooms", "separate_bathroom"),
    [(1, True), (3, False), (1, False)],
    ids=["no second room", "no separate bathroom", "neither"],
)
def test_home_quarantine_in_a_dwelling_unfit_to_isolate_in_raises_isolation_risk(
    rooms: int, separate_bathroom: bool
) -> None:
    events = [*couple(rooms, separate_bathroom), quarantine(ELDER, "Q1", at(0))]
    found = alerts_of(events, "ISOLATION_RISK")
    assert list(found) == [f"ISOLATION_RISK:{HOME}"]
    alert = found[f"ISOLATION_RISK:{HOME}"]
    assert (alert["subject_kind"], alert["subject_key"], alert["dwelling_id"]) == (
        "DWELLING",
        HOME,
        HOME,
    )
    assert (alert["community_code"], alert["grid_id"], alert["delivery_id"]) == (
        COMMUNITY,
        GRID,
        None,
    )
    assert alert["opened_at"] == ms(0)
    assert (alert["reason_code"], alert["reason_params"]) == (
        "NO_SEPARATE_ROOM",
        {"resident_count": 2},
    )
    assert alert["provenance"]["opened_at"][0] == rules.HEALTH


def test_home_quarantine_in_a_dwelling_with_a_second_room_and_bathroom_raises_nothing() -> None:
    events = [*couple(rooms=2, separate_bathroom=True), quarantine(ELDER, "Q1", at(0))]
    assert alerts_of(events, "ISOLATION_RISK") == {}


def test_home_quarantine_of_a_resident_living_alone_raises_no_isolation_risk() -> None:
    events = [dwelling(at(-2)), registered(ELDER, at(-2)), quarantine(ELDER, "Q1", at(0))]
    assert alerts_of(events, "ISOLATION_RISK") == {}


def test_a_centralized_quarantine_without_a_dwelling_raises_no_isolation_risk() -> None:
    events = [*couple(), quarantine(ELDER, "Q1", at(0), kind="CENTRALIZED")]
    assert alerts_of(events) == {}


def test_isolation_risk_waits_for_housing_to_describe_the_dwelling() -> None:
    events = [registered(ELDER, at(-2)), registered(SPOUSE, at(-2)), quarantine(ELDER, "Q", at(0))]
    assert alerts_of(events, "ISOLATION_RISK") == {}


def test_a_home_order_naming_another_dwelling_puts_that_dwelling_at_risk() -> None:
    visitor = [
        registered(CHILD, at(-2), ELSEWHERE),
        quarantine(CHILD, "Q1", at(0), dwelling_id=HOME),
    ]
    found = alerts_of([*couple(), *visitor], "ISOLATION_RISK")
    assert list(found) == [f"ISOLATION_RISK:{HOME}"]


def test_isolation_risk_opens_at_the_earliest_home_quarantine_start() -> None:
    events = [
        *couple(),
        quarantine(SPOUSE, "Q2", at(0), starts=at(6)),
        quarantine(ELDER, "Q1", at(1), starts=at(2)),
    ]
    (alert,) = alerts_of(events, "ISOLATION_RISK").values()
    assert alert["opened_at"] == ms(2)


def test_isolation_risk_closes_when_the_quarantine_is_lifted() -> None:
    ordered = [*couple(), quarantine(ELDER, "Q1", at(0))]
    assert alerts_of(ordered, "ISOLATION_RISK")
    assert alerts_of([*ordered, lifted(ELDER, "Q1", at(48))], "ISOLATION_RISK") == {}


def test_isolation_risk_closes_when_the_other_resident_moves_out() -> None:
    ordered = [*couple(), quarantine(ELDER, "Q1", at(0))]
    assert alerts_of([*ordered, moved(SPOUSE, at(3), ELSEWHERE)], "ISOLATION_RISK") == {}


# --- quarantine delivery ---------------------------------------------------------------------


def test_an_unfulfilled_delivery_of_a_quarantined_household_opens_an_alert() -> None:
    events = [*couple(), quarantine(ELDER, "Q1", at(0)), requested("DL-1", at(1), True)]
    found = alerts_of(events, "QUARANTINE_DELIVERY")
    assert list(found) == ["QUARANTINE_DELIVERY:DL-1"]
    alert = found["QUARANTINE_DELIVERY:DL-1"]
    assert (alert["subject_kind"], alert["subject_key"], alert["delivery_id"]) == (
        "DWELLING",
        HOME,
        "DL-1",
    )
    assert (alert["dwelling_id"], alert["community_code"], alert["grid_id"]) == (
        HOME,
        COMMUNITY,
        GRID,
    )
    assert alert["opened_at"] == ms(1)
    assert alert["reason_code"] == "DELIVERY_NOT_FULFILLED"
    assert alert["reason_params"] == {"due_at": ms(5)}  # 2024-03-01 13:00 UTC


def test_any_open_delivery_of_a_quarantined_household_opens_the_alert() -> None:
    events = [
        *couple(rooms=2, separate_bathroom=True),
        quarantine(ELDER, "Q1", at(0)),
        requested("DL-1", at(1), for_quarantine=False),
    ]
    assert list(alerts_of(events)) == ["QUARANTINE_DELIVERY:DL-1"]


def test_an_ordinary_delivery_of_a_household_not_in_quarantine_raises_nothing() -> None:
    assert alerts_of([*couple(), requested("DL-1", at(1))]) == {}


def test_the_quarantine_channel_flag_alone_raises_nothing() -> None:
    # The contract: the alert follows the household's quarantine state, not the flag.
    assert alerts_of([*couple(), requested("DL-1", at(1), for_quarantine=True)]) == {}


def test_each_open_delivery_is_its_own_alert() -> None:
    events = [
        *couple(rooms=2, separate_bathroom=True),
        quarantine(ELDER, "Q1", at(0)),
        requested("DL-1", at(1)),
        requested("DL-2", at(2)),
    ]
    found = alerts_of(events)
    assert sorted(found) == ["QUARANTINE_DELIVERY:DL-1", "QUARANTINE_DELIVERY:DL-2"]
    assert {a["delivery_id"]: a["opened_at"] for a in found.values()} == {
        "DL-1": ms(1),
        "DL-2": ms(2),
    }


def test_the_quarantine_delivery_alert_closes_when_the_delivery_is_fulfilled() -> None:
    events = [
        *couple(rooms=2, separate_bathroom=True),
        quarantine(ELDER, "Q1", at(0)),
        requested("DL-1", at(1), True),
        requested("DL-2", at(2), True),
    ]
    assert list(alerts_of([*events, fulfilled("DL-1", at(3))])) == ["QUARANTINE_DELIVERY:DL-2"]


def test_a_fulfilment_arriving_before_its_request_leaves_nothing_open() -> None:
    events = [
        *couple(rooms=2, separate_bathroom=True),
        quarantine(ELDER, "Q1", at(0)),
        fulfilled("DL-1", at(3)),
        requested("DL-1", at(1), for_quarantine=True),
    ]
    assert alerts_of(events) == {}


def test_the_quarantine_delivery_alert_names_the_request_as_its_source() -> None:
    events = [*couple(), quarantine(ELDER, "Q1", at(0)), requested("DL-1", at(1), True)]
    (alert,) = alerts_of(events, "QUARANTINE_DELIVERY").values()
    department, _, event_time = alert["provenance"]["opened_at"]
    assert (department, event_time) == (rules.COMMERCE, ms(1))


# --- red status ------------------------------------------------------------------------------


def test_a_red_status_alerts_the_grid_of_the_residents_household() -> None:
    found = alerts_of([*couple(), health(ELDER, "RED", at(1))])
    assert list(found) == [f"RED_STATUS:{ELDER}"]
    alert = found[f"RED_STATUS:{ELDER}"]
    assert (alert["subject_kind"], alert["subject_key"]) == ("PERSON", ELDER)
    assert (alert["dwelling_id"], alert["community_code"], alert["grid_id"]) == (
        HOME,
        COMMUNITY,
        GRID,
    )
    assert alert["opened_at"] == ms(1)
    assert alert["provenance"]["opened_at"][0] == rules.HEALTH
    assert alert["provenance"]["opened_at"][2] == ms(1)


@pytest.mark.parametrize("status", ["GREEN", "YELLOW"])
def test_red_status_closes_when_the_status_changes(status: str) -> None:
    events = [*couple(), health(ELDER, "RED", at(1)), health(ELDER, status, at(2))]
    assert alerts_of(events) == {}


def test_an_older_red_status_arriving_late_does_not_reopen_the_alert() -> None:
    events = [*couple(), health(ELDER, "GREEN", at(2)), health(ELDER, "RED", at(1))]
    assert alerts_of(events) == {}


def test_every_red_resident_of_a_household_gets_an_alert() -> None:
    events = [*couple(), health(ELDER, "RED", at(1)), health(SPOUSE, "RED", at(2))]
    assert sorted(alerts_of(events)) == sorted([f"RED_STATUS:{ELDER}", f"RED_STATUS:{SPOUSE}"])


def test_a_resident_without_a_dwelling_still_gets_a_red_status_alert() -> None:
    resident = resident_state([registered(CHILD, at(0), None), health(CHILD, "RED", at(1))], CHILD)
    found = alerts.resident_alerts_without_dwelling(resident)
    assert list(found) == [f"RED_STATUS:{CHILD}"]
    alert = found[f"RED_STATUS:{CHILD}"]
    assert (alert["community_code"], alert["dwelling_id"], alert["grid_id"]) == (
        COMMUNITY,
        None,
        None,
    )
    assert alert["opened_at"] == ms(1)


def test_a_resident_with_a_dwelling_is_left_to_the_household_rules() -> None:
    housed = resident_state([registered(CHILD, at(0)), health(CHILD, "RED", at(1))], CHILD)
    assert alerts.resident_alerts_without_dwelling(housed) == {}


def test_a_deregistered_resident_without_a_dwelling_has_no_alert() -> None:
    events = [registered(CHILD, at(0), None), health(CHILD, "RED", at(1))]
    gone = resident_state([*events, deregistered(CHILD, at(2))], CHILD)
    assert alerts.resident_alerts_without_dwelling(gone) == {}


# --- through the batch merge: the alert view and the community's open alerts ----------------


def stored_id(identity: str) -> str:
    """The id an alert is stored under: the keyed hash of ``<RULE>:<subject>``, never the
    subject itself (the first 32 hex digits of HMAC-SHA256 of ``alert-id:<identity>``)."""
    message = f"alert-id:{identity}".encode()
    return hmac.new(TEST_HMAC_KEY, message, hashlib.sha256).hexdigest()[:32]


def shown_alerts(views: MemoryViews) -> dict[str, dict[str, Any]]:
    return {key: data for key, (_, data, _) in views.shown("alert").items()}


def open_alerts(views: MemoryViews) -> dict[str, int]:
    """The community's open alerts by type (none while the community is not shown)."""
    community = views.shown("community_situation").get(COMMUNITY)
    counts: dict[str, int] = community[1]["open_alerts"] if community else {}
    return counts


def alert_changes(views: MemoryViews) -> list[tuple[str, Any]]:
    """(alert_id, record or None) of every alert change published, in order."""
    return [(key, record) for view, key, record in views.changes if view == "alert"]


def every_alert_open() -> list[list[Update]]:
    """A welfare check for the elder living alone ELSEWHERE; at HOME, where two live in one
    room, an isolation risk, a quarantine delivery and a red status."""
    return [
        dwelling(at(-2)),
        dwelling(at(-2), dwelling_id=ELSEWHERE),
        registered(ELDER, at(-2), ELSEWHERE),
        assessed(ELDER, at(-1)),
        water(10.0, at(0), dwelling_id=ELSEWHERE),
        water(10.0, at(30), dwelling_id=ELSEWHERE),
        registered(SPOUSE, at(-2)),
        registered(CHILD, at(-2)),
        quarantine(SPOUSE, "Q1", at(1)),
        requested("DL-1", at(2)),
        health(SPOUSE, "RED", at(3)),
    ]


EVERY_ALERT = {
    stored_id(f"WELFARE_CHECK:{ELDER}"): "WELFARE_CHECK",
    stored_id(f"ISOLATION_RISK:{HOME}"): "ISOLATION_RISK",
    stored_id("QUARANTINE_DELIVERY:DL-1"): "QUARANTINE_DELIVERY",
    stored_id(f"RED_STATUS:{SPOUSE}"): "RED_STATUS",
}


def test_the_alert_view_shows_the_open_alerts() -> None:
    views = merged_views(every_alert_open())
    shown = shown_alerts(views)
    assert {key: data["alert_type"] for key, data in shown.items()} == EVERY_ALERT
    assert {data["status"] for data in shown.values()} == {"OPEN"}
    assert open_alerts(views) == dict.fromkeys(
        ["ISOLATION_RISK", "QUARANTINE_DELIVERY", "RED_STATUS", "WELFARE_CHECK"], 1
    )


def test_an_alert_id_names_no_person_dwelling_or_delivery_and_needs_the_hub_key() -> None:
    views = merged_views(every_alert_open())
    subjects = (ELDER, SPOUSE, HOME, "DL-1")
    for alert_id in shown_alerts(views):
        assert not any(s in alert_id or alert_id in s for s in subjects), alert_id
    elsewhere = MemoryViews(alert_key=b"another hub's key")
    elsewhere.merge(u for made in every_alert_open() for u in made)
    assert not set(shown_alerts(elsewhere)) & set(shown_alerts(views))


def test_alerts_do_not_depend_on_how_events_are_batched() -> None:
    events = every_alert_open()
    one_batch = merged_views(events)
    for order in (events, events[::-1]):
        one_by_one = merged_views(*([made] for made in order))
        assert shown_alerts(one_by_one) == shown_alerts(one_batch)
        assert open_alerts(one_by_one) == open_alerts(one_batch)


def test_merging_the_same_batch_again_publishes_no_alert_and_counts_nothing_twice() -> None:
    views = merged_views(every_alert_open())
    before = (shown_alerts(views), open_alerts(views), len(views.changes))
    views.merge(one for made in every_alert_open() for one in made)
    assert (shown_alerts(views), open_alerts(views), len(views.changes)) == before


def test_a_closed_alert_publishes_a_closed_record_then_a_tombstone() -> None:
    views = merged_views(every_alert_open())
    views.changes.clear()
    views.merge(health(SPOUSE, "GREEN", at(4)))
    changes = alert_changes(views)
    assert [(key, record is None) for key, record in changes] == [
        (stored_id(f"RED_STATUS:{SPOUSE}"), False),
        (stored_id(f"RED_STATUS:{SPOUSE}"), True),
    ]
    closed, _ = changes[0][1]
    assert closed["status"] == "CLOSED"
    assert closed["opened_at"] == ms(3)
    assert closed["closed_at"] is not None
    assert stored_id(f"RED_STATUS:{SPOUSE}") not in shown_alerts(views)
    assert "RED_STATUS" not in open_alerts(views)
    assert len(shown_alerts(views)) == 3


def test_open_alert_counts_go_up_and_down_with_the_alerts() -> None:
    views = merged_views(
        [
            *couple(rooms=2, separate_bathroom=True),
            quarantine(ELDER, "Q1", at(0)),
            health(ELDER, "RED", at(1)),
        ]
    )
    assert open_alerts(views) == {"RED_STATUS": 1}
    views.merge(
        one for made in (health(SPOUSE, "RED", at(2)), requested("X", at(2), True)) for one in made
    )
    assert open_alerts(views) == {"QUARANTINE_DELIVERY": 1, "RED_STATUS": 2}
    views.merge(health(ELDER, "GREEN", at(3)) + fulfilled("X", at(3)))
    assert open_alerts(views) == {"RED_STATUS": 1}
    views.merge(health(SPOUSE, "YELLOW", at(4)))
    assert open_alerts(views) == {}


@pytest.mark.parametrize(
    ("opened", "closing", "closed_at"),
    [
        pytest.param(
            [
                dwelling(at(-2), rooms=2, separate_bathroom=True),
                quarantine(ELDER, "Q1", at(0)),
                requested("DL-1", at(1), for_quarantine=True),
            ],
            fulfilled("DL-1", at(5)),
            ms(5),
            id="delivery fulfilled",
        ),
        pytest.param(
            [assessed(ELDER, at(-1)), water(10.0, at(0)), water(10.0, at(30))],
            water(10.5, at(31)),
            ms(31),
            id="water used again",
        ),
        pytest.param(
            [health(ELDER, "RED", at(1))],
            health(ELDER, "GREEN", at(5)),
            ms(5),
            id="red turned green",
        ),
        pytest.param(
            [registered(SPOUSE, at(-2)), quarantine(ELDER, "Q1", at(1))],
            lifted(ELDER, "Q1", at(5)),
            ms(5),
            id="quarantine lifted",
        ),
    ],
)
def test_a_closed_alert_is_closed_at_the_event_time_of_the_event_that_closed_it(
    opened: list[list[Update]], closing: list[Update], closed_at: int
) -> None:
    views = merged_views([dwelling(at(-2)), registered(ELDER, at(-2)), *opened])
    assert len(shown_alerts(views)) == 1
    views.changes.clear()
    views.merge(closing)
    ((_, closed), (_, tombstone)) = alert_changes(views)
    assert tombstone is None
    assert closed[0]["status"] == "CLOSED"
    assert closed[0]["closed_at"] == closed_at


def test_a_red_alert_follows_its_resident_to_another_dwelling() -> None:
    views = merged_views(
        [
            dwelling(at(-2)),
            dwelling(at(-2), dwelling_id=ELSEWHERE),
            registered(ELDER, at(-2)),
            health(ELDER, "RED", at(1)),
        ]
    )
    views.changes.clear()
    views.merge(moved(ELDER, at(2), ELSEWHERE))
    assert [a["dwelling_id"] for a in shown_alerts(views).values()] == [ELSEWHERE]
    assert [(key, record is None) for key, record in alert_changes(views)] == [
        (stored_id(f"RED_STATUS:{ELDER}"), False)
    ]
    assert open_alerts(views) == {"RED_STATUS": 1}


def test_a_red_alert_follows_its_resident_out_of_any_dwelling_and_back() -> None:
    views = merged_views([*couple(), health(ELDER, "RED", at(1))])
    views.merge(moved(ELDER, at(2), None))
    (alert,) = shown_alerts(views).values()
    assert (alert["dwelling_id"], alert["grid_id"], alert["community_code"]) == (
        None,
        None,
        COMMUNITY,
    )
    assert open_alerts(views) == {"RED_STATUS": 1}
    views.merge(moved(ELDER, at(3), HOME))
    (alert,) = shown_alerts(views).values()
    assert (alert["dwelling_id"], alert["grid_id"]) == (HOME, GRID)
    assert open_alerts(views) == {"RED_STATUS": 1}


def test_a_deregistered_residents_alerts_leave_with_only_a_tombstone() -> None:
    views = merged_views(
        [
            *elder_alone(water(10.0, at(0)), water(10.0, at(30))),
            health(ELDER, "RED", at(1)),
            registered(CHILD, at(0), None),
            health(CHILD, "RED", at(1)),
        ]
    )
    assert sorted(shown_alerts(views)) == sorted(
        [
            stored_id(f"WELFARE_CHECK:{ELDER}"),
            stored_id(f"RED_STATUS:{ELDER}"),
            stored_id(f"RED_STATUS:{CHILD}"),
        ]
    )
    assert open_alerts(views) == {"RED_STATUS": 2, "WELFARE_CHECK": 1}
    views.changes.clear()
    views.merge(deregistered(ELDER, at(40)) + deregistered(CHILD, at(40)))
    assert sorted(alert_changes(views), key=lambda c: c[0]) == sorted(
        [
            (stored_id(f"RED_STATUS:{CHILD}"), None),
            (stored_id(f"RED_STATUS:{ELDER}"), None),
            (stored_id(f"WELFARE_CHECK:{ELDER}"), None),
        ]
    )
    assert shown_alerts(views) == {}
    assert open_alerts(views) == {}


def test_a_deregistered_resident_leaves_nothing_of_theirs_in_the_stored_alert_rows() -> None:
    views = merged_views([*couple(), health(ELDER, "RED", at(1))])
    views.merge(deregistered(ELDER, at(5)))
    assert views.records("resident_profile")[ELDER] == (False, {}, {})  # how a view forgets
    assert all(
        data.get("subject_key") != ELDER and ELDER not in str(provenance)
        for _, data, provenance in views.records("alert").values()
    )


# --- the alert contract ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def serde() -> Iterator[Serde]:
    engine = sqlalchemy.create_engine("sqlite://")
    yield Serde(CATALOG, embedded_registry(engine))
    engine.dispose()


def test_every_published_alert_record_encodes_against_the_alert_contract(serde: Serde) -> None:
    views = merged_views(every_alert_open(), [registered(LODGER, at(0), None)])
    views.merge(health(LODGER, "RED", at(4)) + health(SPOUSE, "GREEN", at(4)))
    views.merge(fulfilled("DL-1", at(5)) + lifted(SPOUSE, "Q1", at(5)))
    contract = CATALOG.view("alert")
    published = [(key, record) for key, record in alert_changes(views) if record is not None]
    assert {record[0]["status"] for _, record in published} == {"OPEN", "CLOSED"}
    for key, (data, provenance) in published:
        record = records.avro_record(contract, key, data, provenance)
        assert set(record) == set(contract.field_names)
        assert millis_of(serde.decode(contract, serde.encode(contract, record))) == millis_of(
            record
        )
