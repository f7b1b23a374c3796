"""Health data in the community situation: residents without a recent negative test (while an
epidemic's test window is set, rendered at a given time) and the unvaccinated among the
elderly living alone. Expected figures are worked out by hand from the rules, then the pure
merge is checked against the independent oracle on a seeded workload."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from connectors.base import Event
from services.merge.community import CommunityDelta, fold
from services.merge.epidemic import HOUR_MS, EpidemicWindow, without_negative_test
from services.merge.rules import COMMUNITY_SITUATION
from tests.support.demo_events import updates_of
from tests.support.memory_views import MemoryViews
from tests.support.oracle import Views, oracle_views
from tests.support.oracle import events as make
from tests.support.oracle.compare import differences
from tests.support.oracle.facts import millis
from tests.support.oracle.workload import T0, person_key, workload

C1 = "C001"
A, B, C, D, E = (person_key(n) for n in range(1, 6))
WINDOW_H = 48


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ms(hours: float) -> int:
    return millis(at(hours))


def merged(events: Sequence[Event], batch: int = 500) -> MemoryViews:
    memory = MemoryViews()
    updates = updates_of(list(events))
    for start in range(0, len(updates), batch):
        memory.merge(updates[start : start + batch])
    return memory


def rendered(memory: MemoryViews, window: EpidemicWindow | None) -> MemoryViews:
    """Every community rendered again at the window's time, as the worker's hourly refresh."""
    communities = memory.views.get(COMMUNITY_SITUATION.name, {})
    memory._keep(fold({c: CommunityDelta() for c in communities}, memory, window).written)
    return memory


def situation(memory: MemoryViews, community: str = C1) -> dict[str, object]:
    return memory.records(COMMUNITY_SITUATION.name)[community][1]


def town() -> list[Event]:
    """Five residents of C001: A negative at hour 10:30, B negative two days before, C
    positive, D never tested; E negative at 10:30 too, then deregistered."""
    return [
        *(make.registered(p, at(0), f"D-{i}", C1) for i, p in enumerate((A, B, C, D, E))),
        make.tested(A, "NEGATIVE", at(60.6), sampled=at(58.5), test_id="SA"),
        make.tested(B, "NEGATIVE", at(12), sampled=at(10.5), test_id="SB"),
        make.tested(C, "POSITIVE", at(59), sampled=at(58.2), test_id="SC"),
        make.tested(E, "NEGATIVE", at(60), sampled=at(58.5), test_id="SE"),
        make.deregistered(E, at(61)),
    ]


@pytest.mark.parametrize(
    ("now_hours", "expected"),
    [
        (None, None),  # no window set: null, whatever the tests
        (59, 3),  # A's negative counts (B's, from 10:30 two days before, ended at 10:00 + 48 h)
        (58 + WINDOW_H - 0.01, 3),  # A's still counts just before 48 h from the start of its hour
        (58 + WINDOW_H, 4),  # and not from then on, though sampled at 58.5: up to an hour early
        (200, 4),  # nobody has a recent negative test; E left and counts for nothing
    ],
)
def test_residents_without_a_negative_test_within_the_window_by_hand(
    now_hours: float | None, expected: int | None
) -> None:
    window = None if now_hours is None else EpidemicWindow(WINDOW_H, ms(now_hours))
    assert (
        situation(rendered(merged(town()), window))["residents_without_negative_test"] == expected
    )


def test_a_count_of_hourly_figures_is_the_residents_less_those_negative_in_the_window() -> None:
    counts = {"residents": 10, "negative_at/100": 3, "negative_at/147": 2, "negative_at/99": 4}
    assert without_negative_test(counts, EpidemicWindow(48, 147 * HOUR_MS)) == 10 - 3 - 2
    assert without_negative_test(counts, EpidemicWindow(48, 148 * HOUR_MS - 1)) == 10 - 3 - 2
    assert without_negative_test(counts, EpidemicWindow(48, 148 * HOUR_MS)) == 10 - 2
    assert without_negative_test(counts, EpidemicWindow(1, 147 * HOUR_MS + 5)) == 10 - 2


def test_time_alone_changes_the_count_and_rendering_again_writes_only_what_changed() -> None:
    memory = rendered(merged(town()), EpidemicWindow(WINDOW_H, ms(59)))
    communities = {C1: CommunityDelta()}
    unchanged = fold(communities, memory, EpidemicWindow(WINDOW_H, ms(59.9)))
    assert not unchanged.written.changes and not unchanged.written.rows
    later = fold(communities, memory, EpidemicWindow(WINDOW_H, ms(58 + WINDOW_H)))
    ((change,),) = [later.written.changes]
    assert change.record is not None
    assert change.record[0]["residents_without_negative_test"] == 4


def test_a_newer_positive_test_ends_a_negative_one_and_arrival_order_does_not_matter() -> None:
    events = [
        *town(),
        make.tested(A, "POSITIVE", at(62), sampled=at(61.5), test_id="SA2"),
    ]
    window = EpidemicWindow(WINDOW_H, ms(63))
    expected = 4  # A, B, C, D: A's latest test is positive now
    for seed in range(4):
        order = list(events)
        random.Random(seed).shuffle(order)
        shown = situation(rendered(merged(order, batch=2), window))
        assert shown["residents_without_negative_test"] == expected


def test_the_unvaccinated_among_the_elderly_living_alone_are_counted() -> None:
    events = [
        *town(),
        make.assessed(A, at(1), alone=True),
        make.assessed(B, at(1), alone=True),
        make.assessed(C, at(1), alone=True),
        make.assessed(D, at(1), alone=False),
        make.vaccination(B, at(2), dose=1),
    ]
    shown = situation(merged(events))
    assert (shown["elderly_living_alone"], shown["elderly_alone_unvaccinated"]) == (3, 2)
    vaccinated = situation(merged([*events, make.vaccination(A, at(3), dose=2)]))
    assert vaccinated["elderly_alone_unvaccinated"] == 1


def with_tests(events: list[Event], seed: int) -> list[Event]:
    """The workload with one to three tests for most people, at seeded times and results."""
    rng = random.Random(seed)
    people = sorted({e.key for e in events if e.record.get("person_key") == e.key})
    tests = [
        make.tested(
            person,
            rng.choice(("NEGATIVE", "NEGATIVE", "POSITIVE", "INCONCLUSIVE")),
            at(hour + rng.random()),
            sampled=at(hour) if rng.random() < 0.8 else None,
            test_id=f"S{n}-{person[:6]}",
        )
        for person in people
        for n in range(rng.randint(0, 3))
        for hour in [rng.uniform(0, 96)]
    ]
    mixed = [*events, *tests]
    rng.shuffle(mixed)
    return mixed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_merge_matches_the_oracle_on_the_workload_with_a_window(seed: int) -> None:
    events = with_tests(workload(seed), seed)
    now = ms(90)
    window = EpidemicWindow(24, now)
    production: Views = {
        view: {k: (d, p) for k, (_, d, p) in rows.items()}
        for view in ("community_situation",)
        for rows in [rendered(merged(events, 97), window).shown(view)]
    }
    oracle = {
        "community_situation": oracle_views(events, epidemic=(24, now))["community_situation"]
    }
    found = differences(oracle, production)
    assert not found, "\n".join(found[:25])
    shown = oracle["community_situation"].values()
    # The window splits the residents: some have a recent negative test, some do not.
    assert any(0 < d["residents_without_negative_test"] < d["residents"] for d, _ in shown)
