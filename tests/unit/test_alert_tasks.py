"""The grid worker's loop in the pure merge: TaskAssigned and TaskCompleted on the alert view.

Expected values are written by hand from docs/views.md's rules (who has an alert, since when,
what the visit found; DONE closes it; nothing older or repeated moves a field), then the pure
merge is held to the independent oracle (``tests/support/oracle/tasks.py``) on a seeded
workload of tasks, in order and shuffled with repeats.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from connectors.base import Event
from tests.support.demo_events import updates_of
from tests.support.memory_views import MemoryViews, pure_views
from tests.support.oracle import Views, oracle_views
from tests.support.oracle import events as make
from tests.support.oracle.compare import differences
from tests.support.oracle.facts import millis
from tests.support.oracle.workload import T0, alert_id, person_key, workload

ELDER = person_key(1)
HOME, C1 = "D-1", "C001"
WELFARE = alert_id("WELFARE_CHECK", ELDER)
OPENED_H = 3 + 24  # the last water use at 3 h, silent for 24 h of readings: opened at 27 h


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ms(hours: float) -> int:
    return millis(at(hours))


def welfare_alert() -> list[Event]:
    """An elderly resident living alone whose water was last used at 3 h, read up to 30 h."""
    return [
        make.dwelling(HOME, at(0), C1),
        make.registered(ELDER, at(1), HOME, C1),
        make.assessed(ELDER, at(2), alone=True),
        make.reading(HOME, 10.0, at(3)),
        make.reading(HOME, 10.0, at(30)),
    ]


def source(event: Event) -> list[Any]:
    return [event.department, event.event_id, millis(event.record["event_time"])]


def alert_after(*batches: Sequence[Event]) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    """The welfare alert's stored row (visible, record, provenance) after merging each batch."""
    views = MemoryViews()
    for batch in batches:
        views.merge(updates_of(list(batch)))
    return views.records("alert")[WELFARE]


def test_an_alert_nobody_took_shows_every_task_field_null() -> None:
    visible, record, _ = alert_after(welfare_alert())
    assert visible and record["status"] == "OPEN" and record["opened_at"] == ms(OPENED_H)
    assert {record[f] for f in ("task_id", "assignee_code", "assigned_at", "visit_outcome")} == {
        None
    }


def test_a_taken_alert_shows_who_has_it_since_when_and_by_when() -> None:
    taken = make.task_assigned(C1, at(31), WELFARE, "W-007", "T-9", due=at(51))
    visible, record, provenance = alert_after(welfare_alert(), [taken])
    assert visible and record["status"] == "OPEN"
    assert (record["task_id"], record["assignee_code"]) == ("T-9", "W-007")
    assert (record["assigned_at"], record["due_at"]) == (ms(31), ms(51))
    assert provenance["assignee_code"] == source(taken)


def test_a_visit_that_was_done_closes_the_alert_which_stays_shown_with_the_note() -> None:
    done = make.task_completed(C1, at(33), WELFARE, "DONE", notes="resident well")
    visible, record, provenance = alert_after(
        welfare_alert(), [make.task_assigned(C1, at(31), WELFARE)], [done]
    )
    assert visible
    assert (record["status"], record["closed_at"]) == ("CLOSED", ms(33))
    assert (record["visit_outcome"], record["visited_at"], record["note"]) == (
        "DONE",
        ms(33),
        "resident well",
    )
    assert record["assignee_code"] == "W-001"  # who did it stays shown
    assert provenance["closed_at"] == source(done)


def test_nobody_home_keeps_the_alert_open_with_its_assignee() -> None:
    visit = make.task_completed(C1, at(33), WELFARE, "NOBODY_HOME")
    _, record, _ = alert_after(welfare_alert(), [make.task_assigned(C1, at(31), WELFARE), visit])
    assert (record["status"], record["closed_at"]) == ("OPEN", None)
    assert (record["visit_outcome"], record["assignee_code"]) == ("NOBODY_HOME", "W-001")


def test_a_referral_keeps_the_alert_open_naming_the_department() -> None:
    visit = make.task_completed(C1, at(33), WELFARE, "REFERRED", referred_to="civil-affairs")
    _, record, _ = alert_after(welfare_alert(), [visit])
    assert (record["status"], record["visit_outcome"], record["referred_to"]) == (
        "OPEN",
        "REFERRED",
        "civil-affairs",
    )


def test_an_older_assignment_arriving_late_never_overwrites_a_newer_one() -> None:
    newer = make.task_assigned(C1, at(35), WELFARE, "W-002", "T-2")
    older = make.task_assigned(C1, at(31), WELFARE, "W-001", "T-1")
    _, record, provenance = alert_after(welfare_alert(), [newer], [older])
    assert (record["assignee_code"], record["task_id"]) == ("W-002", "T-2")
    assert provenance["assignee_code"] == source(newer)


def test_a_redelivered_task_event_publishes_no_change() -> None:
    views = MemoryViews()
    taken = make.task_assigned(C1, at(31), WELFARE)
    views.merge(updates_of([*welfare_alert(), taken]))
    before = len(views.changes)
    views.merge(updates_of([taken]))
    assert len(views.changes) == before


def test_a_task_delivered_before_its_alert_opened_shows_once_the_alert_opens() -> None:
    taken = make.task_assigned(C1, at(31), WELFARE, "W-005")
    views = MemoryViews()
    views.merge(updates_of([taken]))
    assert not any(visible for visible, _, _ in views.records("alert").values())
    views.merge(updates_of(welfare_alert()))
    visible, record, _ = views.records("alert")[WELFARE]
    assert visible and record["assignee_code"] == "W-005"


def test_a_visit_older_than_the_alerts_opening_closes_nothing() -> None:
    # The same subject's earlier occurrence was visited at 20 h; this one opened at 27 h.
    old_visit = make.task_completed(C1, at(20), WELFARE, "DONE")
    _, record, _ = alert_after(welfare_alert(), [old_visit])
    assert (record["status"], record["visit_outcome"], record["visited_at"]) == (
        "OPEN",
        None,
        None,
    )


def test_an_assignment_newer_than_a_done_visit_opens_the_alert_again() -> None:
    _, record, _ = alert_after(
        welfare_alert(),
        [make.task_completed(C1, at(33), WELFARE, "DONE")],
        [make.task_assigned(C1, at(34), WELFARE, "W-003", "T-3")],
    )
    assert (record["status"], record["assignee_code"], record["visit_outcome"]) == (
        "OPEN",
        "W-003",
        "DONE",
    )


def test_a_task_naming_no_alert_of_the_hub_writes_no_alert_row() -> None:
    views = MemoryViews()
    views.merge(updates_of([make.task_assigned(C1, at(31), "../../etc/passwd")]))
    views.merge(updates_of([make.task_assigned(C1, at(31), None)]))
    assert views.records("alert") == {}


def test_when_the_condition_clears_the_taken_alert_leaves_the_view() -> None:
    water_used = make.reading(HOME, 11.0, at(40))
    visible, record, _ = alert_after(
        welfare_alert(), [make.task_assigned(C1, at(31), WELFARE)], [water_used]
    )
    assert not visible and record["status"] == "CLOSED"


# --- against the oracle ----------------------------------------------------------------------


def merged(events: Sequence[Event], batch: int) -> Views:
    shown = pure_views(updates_of(list(events)), batch)
    return {view: {k: (d, p) for k, (_, d, p) in rows.items()} for view, rows in shown.items()}


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_the_merge_of_tasks_matches_the_oracle_in_any_order_with_repeats(seed: int) -> None:
    events = workload(seed, tasks=True)
    rng = random.Random(seed)
    delivered = events + rng.sample(events, len(events) // 10)
    rng.shuffle(delivered)
    oracle = oracle_views(events)
    taken = [d for d, _ in oracle["alert"].values() if d["assignee_code"]]
    closed = [d for d, _ in oracle["alert"].values() if d["status"] == "CLOSED"]
    assert taken and closed, "the workload takes and closes alerts"
    for batch in (1, 37, 500):
        found = differences(oracle, merged(delivered, batch))
        assert not found, "\n".join(found[:25])


def test_a_visit_that_was_done_takes_the_alert_out_of_its_communitys_open_count() -> None:
    views = MemoryViews()
    views.merge(updates_of([*welfare_alert(), make.task_assigned(C1, at(31), WELFARE)]))
    assert views.records("community_situation")[C1][1]["open_alerts"] == {"WELFARE_CHECK": 1}
    views.merge(updates_of([make.task_completed(C1, at(33), WELFARE, "DONE")]))
    assert views.records("community_situation")[C1][1]["open_alerts"] == {}  # none open
    views.merge(updates_of([make.task_assigned(C1, at(34), WELFARE, "W-002", "T-2")]))
    assert views.records("community_situation")[C1][1]["open_alerts"] == {"WELFARE_CHECK": 1}
