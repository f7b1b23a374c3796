"""The demo community merged into all four views, pure (no broker): order, repeats, erasure."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

import pytest

from connectors.base import Event
from connectors.demo.manifest import Manifest
from services.merge.merge import Update
from tests.support.demo_events import demo_events, updates_of
from tests.support.memory_views import MemoryViews

VIEWS = ("resident_profile", "household", "community_situation", "alert")


def merged(updates: Sequence[Update], rng: random.Random | None = None) -> MemoryViews:
    """Merge in batches: 500 at a time, or of random sizes when ``rng`` is given."""
    views = MemoryViews()
    start = 0
    while start < len(updates):
        size = rng.randint(1, 400) if rng else 500
        views.merge(updates[start : start + size])
        start += size
    return views


@pytest.fixture(scope="module")
def demo() -> tuple[Manifest, tuple[Event, ...]]:
    return demo_events()


@pytest.fixture(scope="module")
def in_order(demo: tuple[Manifest, tuple[Event, ...]]) -> MemoryViews:
    return merged(updates_of(demo[1]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_events_with_ten_percent_repeated_give_the_same_views(
    demo: tuple[Manifest, tuple[Event, ...]], in_order: MemoryViews, seed: int
) -> None:
    rng = random.Random(seed)
    events = list(demo[1])
    events += rng.sample(events, len(events) // 10)
    rng.shuffle(events)
    shuffled = merged(updates_of(events), rng)
    for view in VIEWS:
        assert shuffled.shown(view) == in_order.shown(view), view


def test_the_community_situation_shows_the_demo_headline(
    demo: tuple[Manifest, tuple[Event, ...]], in_order: MemoryViews
) -> None:
    headline = demo[0].population
    ((_, situation, _),) = in_order.shown("community_situation").values()
    assert situation["residents"] == headline["residents"]
    assert situation["households"] == headline["households"]
    assert situation["elderly_living_alone"] == headline["elderly_living_alone"]
    assert situation["disabled_residents"] == headline["disabled"]
    assert situation["quarantined_households"] == headline["quarantined_dwellings_open"]
    assert situation["pending_deliveries"] == headline["deliveries_unfulfilled"]
    assert len(situation["renovation_projects"]) == headline["renovation_projects"]
    assert situation["open_alerts"]["WELFARE_CHECK"] == headline["elderly_alone_without_water_24h"]
    assert set(situation["department_freshness"]) == {
        "public-security", "health", "civil-affairs", "housing", "grid", "commerce", "utilities",
    }  # fmt: skip


def test_merging_the_whole_demo_again_changes_nothing(
    demo: tuple[Manifest, tuple[Event, ...]], in_order: MemoryViews
) -> None:
    again = merged(updates_of(demo[1]))
    before = len(again.changes)
    again.merge(updates_of(demo[1]))
    assert len(again.changes) == before
    for view in VIEWS:
        assert again.shown(view) == in_order.shown(view)


def _deregistration(event: Event) -> Event:
    later = event.record["event_time"] + timedelta(days=400)
    record = {
        "event_id": f"{event.record['event_id']}:out",
        "event_time": later,
        "department": "public-security",
        "person_key": event.record["person_key"],
        "reason": "DEATH",
    }
    return Event("public-security", "resident-deregistered", event.key, record)


def test_a_deregistered_resident_leaves_every_view_and_count(
    demo: tuple[Manifest, tuple[Event, ...]],
) -> None:
    views = merged(updates_of(demo[1]))
    alerts = views.shown("alert")
    alert_id, (_, welfare, _) = next(
        (k, a) for k, a in alerts.items() if a[1]["alert_type"] == "WELFARE_CHECK"
    )
    person = welfare["subject_key"]
    registration = next(e for e in demo[1] if e.event == "resident-registered" and e.key == person)
    home = views.shown("resident_profile")[person][1]["dwelling_id"]
    ((community, (_, before, _)),) = views.shown("community_situation").items()
    views.changes.clear()

    views.merge(updates_of([_deregistration(registration)]))

    assert person not in views.shown("resident_profile")
    household = views.shown("household").get(home)
    assert household is None or person not in household[1]["resident_person_keys"]
    assert all(a[1]["subject_key"] != person for a in views.shown("alert").values())
    after = views.shown("community_situation")[community][1]
    assert after["residents"] == before["residents"] - 1
    assert after["elderly_living_alone"] == before["elderly_living_alone"] - 1
    assert (
        after["open_alerts"].get("WELFARE_CHECK", 0) == before["open_alerts"]["WELFARE_CHECK"] - 1
    )
    tombstones = {(view, key) for view, key, record in views.changes if record is None}
    assert ("resident_profile", person) in tombstones
    assert ("alert", alert_id) in tombstones
    assert not any(
        view == "alert" and key == alert_id and record is not None
        for view, key, record in views.changes
    ), "an erased person's alert is not re-published as CLOSED"


def test_a_grid_report_claiming_a_residents_dwelling_is_a_conflict_not_a_move(
    demo: tuple[Manifest, tuple[Event, ...]],
) -> None:
    views = merged(updates_of(demo[1]))
    person, (_, profile, provenance) = next(iter(views.shown("resident_profile").items()))
    report = {
        "event_id": "grid:report-conflict",
        "event_time": demo[1][-1].record["event_time"] + timedelta(days=1),
        "department": "grid",
        "community_code": profile["community_code"],
        "report_id": "R-1",
        "grid_id": "G-1",
        "kind": "VISIT",
        "dwelling_id": "FW-somewhere-else",
        "person_key": person,
        "summary": "found at another address",
        "follow_up_required": True,
    }
    result = views.merge(
        updates_of([Event("grid", "grid-report-filed", profile["community_code"], report)])
    )
    assert views.shown("resident_profile")[person] == (True, profile, provenance)
    ((conflict),) = result.conflicts
    assert (conflict.field, conflict.owner, conflict.source.department) == (
        "dwelling_id",
        "public-security",
        "grid",
    )
