"""The views checked against an independent oracle: the README's merge rules read slowly.

``tests/support/oracle`` folds every subject's events in version order and recounts households,
alerts and community situations from the final rows; it shares no code with
``services/merge``. First, specifications of the oracle itself, answers written by hand
from the README. Then the production pure merge (``tests.support.memory_views.pure_views``) against
the oracle: on the demo community and on a seeded workload, in order, and shuffled with
repeats in batches of random sizes.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import Event
from tests.support.demo_events import demo_events, updates_of
from tests.support.keys import TEST_HMAC_KEY
from tests.support.memory_views import pure_views
from tests.support.oracle import Views, oracle_views
from tests.support.oracle import events as make
from tests.support.oracle.compare import differences
from tests.support.oracle.facts import facts, millis
from tests.support.oracle.fold import fold
from tests.support.oracle.workload import T0, person_key, workload

ELDER, SPOUSE, LODGER = person_key(1), person_key(2), person_key(3)
HOME, ELSEWHERE = "D-1", "D-2"
C1, C2, C3 = "C001", "C002", "C003"
FRESHNESS = "department_freshness"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ms(hours: float) -> int:
    return millis(at(hours))


def source(event: Event) -> list[object]:
    """The stored provenance an event gives the fields it wrote."""
    return [event.department, event.event_id, millis(event.record["event_time"])]


def alert_id(rule: str, subject: str) -> str:
    """An alert's id, from the README: the first 32 hex digits of HMAC-SHA256 under the hub
    key of ``alert-id:<RULE>:<subject or delivery id>``; it names nobody."""
    message = f"alert-id:{rule}:{subject}".encode()
    return hmac.new(TEST_HMAC_KEY, message, hashlib.sha256).hexdigest()[:32]


def merged(events: Sequence[Event], batch: int = 500) -> Views:
    """What the production pure merge shows, in the oracle's shape: (data, provenance)."""
    shown = pure_views(updates_of(list(events)), batch)
    return {view: {k: (d, p) for k, (_, d, p) in rows.items()} for view, rows in shown.items()}


def shuffled(events: Sequence[Event], seed: int) -> tuple[list[Event], int]:
    """The events with ~10% of them repeated, in a seeded order, and a seeded batch size."""
    rng = random.Random(seed)
    out = list(events)
    out += rng.sample(out, len(out) // 10)
    rng.shuffle(out)
    return out, rng.choice((1, 7, 50, 97, 500))


def assert_same(oracle: Views, production: Views, ignore: Sequence[str] = ()) -> None:
    found = differences(oracle, production, ignore)
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:25])


# --- the oracle, specified by hand ---------------------------------------------------------


def resident(events: list[Event], key: str = ELDER) -> dict[str, object] | None:
    row = oracle_views(events)["resident_profile"].get(key)
    return None if row is None else row[0]


def household(events: list[Event], key: str = HOME) -> dict[str, object]:
    return oracle_views(events)["household"][key][0]


def test_an_older_event_does_not_overwrite_a_newer_field() -> None:
    red = make.health(ELDER, "RED", at(5))
    views = oracle_views(
        [make.registered(ELDER, at(0), HOME, C1), red, make.health(ELDER, "GREEN", at(3))]
    )
    data, provenance = views["resident_profile"][ELDER]
    assert (data["health_status"], provenance["health_status"]) == ("RED", source(red))


def test_an_equal_event_time_is_decided_by_the_event_id() -> None:
    first, second = make.health(ELDER, "GREEN", at(2)), make.health(ELDER, "YELLOW", at(2))
    newer = max((first, second), key=lambda e: e.event_id)
    for order in ([first, second], [second, first]):
        found = resident([make.registered(ELDER, at(0), HOME, C1), *order])
        assert found is not None and found["health_status"] == newer.record["status"]


def test_a_write_by_a_department_not_owning_the_field_is_a_conflict_never_applied() -> None:
    claim = make.grid_report(C1, at(5), ELDER, ELSEWHERE)
    events = [make.registered(ELDER, at(0), HOME, C1), claim]
    assert (resident(events) or {})["dwelling_id"] == HOME
    ((write, by),) = fold(facts(events)).conflicts
    assert (write.name, write.value, by.department) == ("dwelling_id", ELSEWHERE, "grid")


def test_repeats_and_arrival_order_change_nothing() -> None:
    events = workload(7, residents=20, dwellings=10)
    again, _ = shuffled(events, 7)
    assert oracle_views(again) == oracle_views(events)


def test_a_deregistration_hides_the_resident_and_empties_its_household_count() -> None:
    events = [
        make.dwelling(HOME, at(0), C1),
        make.registered(ELDER, at(1), HOME, C1),
        make.registered(SPOUSE, at(1), HOME, C1),
        make.assessed(ELDER, at(2), alone=True),
        make.deregistered(ELDER, at(3)),
    ]
    views = oracle_views(events)
    assert ELDER not in views["resident_profile"]
    assert (household(events)["resident_person_keys"], household(events)["resident_count"]) == (
        [SPOUSE],
        1,
    )
    situation = views["community_situation"][C1][0]
    assert (situation["residents"], situation["elderly_living_alone"]) == (1, 0)

    everyone_gone = [*events, make.deregistered(SPOUSE, at(4))]
    assert household(everyone_gone)["resident_count"] == 0  # housing registered it: still shown
    assert oracle_views(everyone_gone)["community_situation"] == {}  # nothing left to count


def test_the_latest_test_and_vaccination_show_on_the_profile_whatever_the_arrival_order() -> None:
    events = [
        make.registered(ELDER, at(0), HOME, C1),
        make.tested(ELDER, "POSITIVE", at(5), sampled=at(4), test_id="S1"),
        make.tested(ELDER, "NEGATIVE", at(3), sampled=at(2), test_id="S0"),  # older, later
        make.vaccination(ELDER, at(7), dose=3),
        make.vaccination(ELDER, at(6), dose=2),
    ]
    profile = resident(events)
    assert profile is not None
    assert (profile["latest_test_result"], profile["latest_test_at"]) == ("POSITIVE", ms(4))
    assert (profile["vaccination_doses"], profile["last_vaccinated_at"]) == (3, ms(7))
    for seed in range(3):
        assert resident(shuffled(events, seed)[0]) == profile
    # A corrected result reports the same sample later; without a sampling time the
    # report's own time is the test's.
    corrected = [*events, make.tested(ELDER, "NEGATIVE", at(8), test_id="S1")]
    fixed = resident(corrected)
    assert fixed is not None
    assert (fixed["latest_test_result"], fixed["latest_test_at"]) == ("NEGATIVE", ms(8))
    assert_same(oracle_views(corrected), merged(corrected))


def test_an_older_event_cannot_bring_back_an_erased_field_but_a_newer_registration_can() -> None:
    events = [
        make.registered(ELDER, at(0), HOME, C1),
        make.health(ELDER, "GREEN", at(1)),
        make.deregistered(ELDER, at(4)),
        make.health(ELDER, "RED", at(3)),  # older than the deregistration, arriving after it
    ]
    assert resident(events) is None
    back = [*events, make.registered(ELDER, at(6), ELSEWHERE, C2)]
    assert resident(back) == {
        "community_code": C2,
        "dwelling_id": ELSEWHERE,
        "address": f"{C2} {ELSEWHERE}",
        "household_no": "H0001",
        "name_masked": "张*",
        "gender": "FEMALE",
        "birth_date": "1940-05-01",
        "phone_masked": "138****5678",
        "health_status": None,
        "elderly_living_alone": None,
        "disability_grade": None,
        "subsistence_allowance": None,
        "latest_test_result": None,
        "latest_test_at": None,
        "vaccination_doses": None,
        "last_vaccinated_at": None,
    }
    assert (resident([*back, make.health(ELDER, "YELLOW", at(7))]) or {})["health_status"] == (
        "YELLOW"
    )


def test_a_quarantine_order_from_before_a_deregistration_does_not_come_back() -> None:
    events = [
        make.dwelling(HOME, at(0), C1),
        make.registered(ELDER, at(0), HOME, C1),
        make.deregistered(ELDER, at(3)),
        make.registered(ELDER, at(4), HOME, C1),
        make.quarantine(ELDER, "Q1", at(2)),  # ordered before the deregistration
    ]
    assert (household(events)["quarantined"], household(events)["quarantines"]) == (False, {})


def test_water_readings_merge_as_a_lattice_ordered_by_event_time() -> None:
    readings = [
        make.reading(HOME, 12.5, at(9)),
        make.reading(HOME, 10.0, at(1)),
        make.reading(HOME, 9.0, at(10)),  # a misread: the register never goes down
        make.reading(HOME, 12.5, at(5)),
        make.reading(HOME, 11.0, at(3)),
    ]
    found = household([make.dwelling(HOME, at(0), C1), *readings])
    assert (
        found["last_water_reading"],
        found["last_water_reading_at"],
        found["last_water_activity_at"],
    ) == (12.5, ms(10), ms(5))


def test_with_two_meters_each_water_field_names_the_reading_it_comes_from() -> None:
    latest, used = make.reading(HOME, 10.0, at(8), "W-1"), make.reading(HOME, 3.5, at(6), "W-2")
    events = [
        make.dwelling(HOME, at(0), C1),
        make.reading(HOME, 10.0, at(1), "W-1"),
        latest,
        make.reading(HOME, 3.0, at(2), "W-2"),
        used,
    ]
    data, provenance = oracle_views(events)["household"][HOME]
    assert (data["last_water_reading"], data["last_water_activity_at"]) == (10.0, ms(6))
    assert provenance["last_water_reading"] == provenance["last_water_reading_at"] == source(latest)
    assert provenance["last_water_activity_at"] == source(used)


def _elder_alone_with_water(*readings: tuple[float, float]) -> list[Event]:
    return [
        make.dwelling(HOME, at(0), C1),
        make.registered(ELDER, at(0), HOME, C1),
        make.assessed(ELDER, at(0), alone=True),
        *(make.reading(HOME, value, at(hours)) for value, hours in readings),
    ]


def test_a_welfare_check_opens_after_24_hours_without_water_use() -> None:
    silent = [(10.0, 1), (10.5, 2), (10.5, 10), (10.5, 25.5)]
    assert oracle_views(_elder_alone_with_water(*silent))["alert"] == {}  # 23.5 hours

    events = _elder_alone_with_water(*silent, (10.5, 26))
    data, provenance = oracle_views(events)["alert"][alert_id("WELFARE_CHECK", ELDER)]
    assert data == {
        "alert_type": "WELFARE_CHECK",
        "status": "OPEN",
        "subject_kind": "PERSON",
        "subject_key": ELDER,
        "dwelling_id": HOME,
        "community_code": C1,
        "grid_id": "G-01",
        "delivery_id": None,
        "opened_at": ms(26),
        "closed_at": None,
        "reason": "",
        "reason_code": "NO_WATER_USE",
        "reason_params": {"hours": 24, "since": ms(2)},  # 2024-06-01 02:00 UTC
    }
    assert provenance == {"opened_at": source(events[-1])}
    assert oracle_views(events)["community_situation"][C1][0]["open_alerts"] == {"WELFARE_CHECK": 1}
    used_again = _elder_alone_with_water(*silent, (10.5, 26), (10.6, 27))
    assert oracle_views(used_again)["alert"] == {}


def test_an_isolation_risk_opens_for_a_home_quarantine_where_no_one_can_isolate_apart() -> None:
    together = [
        make.dwelling(HOME, at(0), C1, rooms=1, bathroom=False),
        make.registered(ELDER, at(0), HOME, C1),
        make.registered(SPOUSE, at(0), HOME, C1),
    ]
    order = make.quarantine(ELDER, "Q1", at(2))
    data, provenance = oracle_views([*together, order])["alert"][alert_id("ISOLATION_RISK", HOME)]
    assert (data["opened_at"], data["subject_kind"], data["subject_key"]) == (
        ms(2),
        "DWELLING",
        HOME,
    )
    assert (data["reason_code"], data["reason_params"]) == (
        "NO_SEPARATE_ROOM",
        {"resident_count": 2},
    )
    assert provenance == {"opened_at": source(order)}
    lifted = [*together, order, make.lifted(ELDER, "Q1", at(5))]
    assert oracle_views(lifted)["alert"] == {}
    alone = [*together[:2], order]
    assert household(alone)["isolation_suitable"] is True
    assert oracle_views(alone)["alert"] == {}


def test_a_quarantined_households_delivery_is_an_alert_until_fulfilled() -> None:
    request = make.requested(HOME, "DL-1", at(3))
    events = [
        make.dwelling(HOME, at(0), C1, rooms=2, bathroom=True),
        make.registered(ELDER, at(0), HOME, C1),
        make.quarantine(ELDER, "Q1", at(2)),
        request,
    ]
    views = oracle_views(events)
    data, provenance = views["alert"][alert_id("QUARANTINE_DELIVERY", "DL-1")]
    assert (data["delivery_id"], data["opened_at"], provenance) == (
        "DL-1",
        ms(3),
        {"opened_at": source(request)},
    )
    assert (data["reason_code"], data["reason_params"]) == (
        "DELIVERY_NOT_FULFILLED",
        {"due_at": ms(9)},  # 2024-06-01 09:00 UTC
    )
    situation = views["community_situation"][C1][0]
    assert (situation["pending_deliveries"], situation["quarantined_households"]) == (1, 1)
    done = oracle_views([*events, make.fulfilled(HOME, "DL-1", at(4))])
    assert done["alert"] == {}
    assert done["community_situation"][C1][0]["pending_deliveries"] == 0


def test_a_red_status_alerts_the_grid_of_the_household_or_the_residents_community() -> None:
    events = [
        make.dwelling(HOME, at(0), C1),
        make.registered(ELDER, at(0), HOME, C1),
        make.registered(LODGER, at(0), None, C2),
        make.health(ELDER, "RED", at(1)),
        make.health(LODGER, "RED", at(2)),
    ]
    alerts = oracle_views(events)["alert"]
    housed, lodger = (
        alerts[alert_id("RED_STATUS", ELDER)][0],
        alerts[alert_id("RED_STATUS", LODGER)][0],
    )
    assert (housed["dwelling_id"], housed["grid_id"], housed["community_code"]) == (
        HOME,
        "G-01",
        C1,
    )
    assert (lodger["dwelling_id"], lodger["grid_id"], lodger["community_code"]) == (
        None,
        None,
        C2,
    )
    assert (housed["opened_at"], lodger["opened_at"]) == (ms(1), ms(2))


def test_of_the_projects_covering_a_building_the_latest_reported_is_shown() -> None:
    events = [
        make.dwelling(HOME, at(0), C1, building="1号楼"),
        make.dwelling(ELSEWHERE, at(0), C1, building="2号楼"),
        make.registered(ELDER, at(0), HOME, C1),
        make.renovation(C1, "RN-A", at(1), ["1号楼"], 10),
        make.renovation(C1, "RN-B", at(2), [], 40),  # the whole community
    ]
    assert household(events)["renovation_project_id"] == "RN-B"
    again = make.renovation(C1, "RN-A", at(3), ["1号楼"], 20)
    later = [*events, again]
    assert (household(later)["renovation_project_id"], household(later)["renovation_percent"]) == (
        "RN-A",
        20,
    )
    assert household(later, ELSEWHERE)["renovation_project_id"] == "RN-B"
    data, provenance = oracle_views(later)["community_situation"][C1]
    assert data["renovation_projects"] == {
        "RN-A": {"stage": "CONSTRUCTION", "percent": 20, "buildings": ["1号楼"]},
        "RN-B": {"stage": "CONSTRUCTION", "percent": 40, "buildings": []},
    }
    assert provenance == {"renovation_projects": source(again)}


def test_freshness_credits_each_event_to_where_its_subject_ends_up() -> None:
    events = [
        make.registered(ELDER, at(0), HOME, C1),
        make.registered(SPOUSE, at(1), HOME, C1),
        make.health(ELDER, "GREEN", at(2)),
        make.moved(ELDER, at(3), ELSEWHERE, C2),
        make.dwelling(ELSEWHERE, at(0.5), C2),
        make.reading(ELSEWHERE, 5.0, at(4), "E-1", "ELECTRICITY"),
        make.renovation(C3, "RN-C", at(5), [], 0),
    ]
    situations = oracle_views(events)["community_situation"]
    assert {c: row[0][FRESHNESS] for c, row in situations.items()} == {
        C1: {"public-security": ms(1)},
        C2: {"health": ms(2), "housing": ms(0.5), "public-security": ms(3), "utilities": ms(4)},
        C3: {"housing": ms(5)},  # shown for its renovation project alone
    }


def test_the_oracle_shares_no_code_with_the_merge() -> None:
    paths = sorted((Path(__file__).parents[1] / "support" / "oracle").glob("*.py"))
    assert paths, "the oracle's modules were found"
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names.append(getattr(node, "module", None) or "")
                assert not any(n.startswith("services") for n in names), path
                assert not any(
                    n in ("tests.support.memory_views", "tests.support.demo_events") for n in names
                )


# --- production against the oracle ---------------------------------------------------------


@pytest.fixture(scope="module")
def small_demo() -> tuple[list[Event], Views]:
    events = list(demo_events(1, 400, 11)[1])
    return events, oracle_views(events)


@pytest.fixture(scope="module")
def big_demo() -> tuple[list[Event], Views]:
    events = list(demo_events(2, 3000, 7)[1])
    return events, oracle_views(events)


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_the_merge_matches_the_oracle_on_the_demo(
    small_demo: tuple[list[Event], Views], seed: int | None
) -> None:
    events, oracle = small_demo
    delivered, batch = (events, 500) if seed is None else shuffled(events, seed)
    assert_same(oracle, merged(delivered, batch))


@pytest.mark.parametrize("seed", [None, 3])
def test_the_merge_matches_the_oracle_on_the_bigger_demo(
    big_demo: tuple[list[Event], Views], seed: int | None
) -> None:
    events, oracle = big_demo
    delivered = events if seed is None else shuffled(events, seed)[0]
    assert_same(oracle, merged(delivered))


WORKLOADS = [(seed, order) for seed in (1, 2, 3, 4) for order in ("in order", "shuffled")]


@pytest.mark.parametrize(("seed", "order"), WORKLOADS)
def test_the_merge_matches_the_oracle_on_the_workload(seed: int, order: str) -> None:
    events = workload(seed)
    delivered, batch = (events, 500) if order == "in order" else shuffled(events, seed)
    assert_same(oracle_views(events), merged(delivered, batch))


def _moved_away() -> list[Event]:
    return [
        make.registered(ELDER, at(1), HOME, C1),
        make.registered(SPOUSE, at(1), ELSEWHERE, C1),
        make.health(ELDER, "GREEN", at(2)),
        make.moved(ELDER, at(3), "D-3", C2),
    ]


def _deregistered() -> list[Event]:
    return [*_moved_away()[:3], make.deregistered(ELDER, at(3))]


@pytest.mark.parametrize(
    "events",
    [_moved_away, _deregistered, lambda: workload(1)],
    ids=["moved away", "deregistered", "workload 1"],
)
def test_department_freshness_follows_the_final_state(events: Callable[[], list[Event]]) -> None:
    delivered = events()
    oracle, production = oracle_views(delivered), merged(delivered)
    assert_same(
        {"community_situation": oracle["community_situation"]},
        {"community_situation": production["community_situation"]},
    )


@pytest.mark.parametrize(
    "events",
    [
        lambda: [
            make.dwelling(HOME, at(0), C1),
            make.reading(HOME, 10.0, at(1), "W-1"),
            make.reading(HOME, 10.0, at(8), "W-1"),
            make.reading(HOME, 3.0, at(2), "W-2"),
            make.reading(HOME, 3.5, at(6), "W-2"),
        ],
        lambda: workload(2, second_meters=True),
    ],
    ids=["two meters", "workload 2 with second meters"],
)
def test_with_two_water_meters_the_merge_names_the_reading_each_field_comes_from(
    events: Callable[[], list[Event]],
) -> None:
    delivered = events()
    assert_same(oracle_views(delivered), merged(delivered), ignore=[FRESHNESS])


def test_an_order_older_than_a_deregistration_stays_erased_whenever_it_arrives() -> None:
    events = [
        make.dwelling(HOME, at(0), C1),
        make.registered(ELDER, at(1), HOME, C1),
        make.deregistered(ELDER, at(3)),
        make.registered(ELDER, at(4), HOME, C1),
        make.quarantine(ELDER, "Q1", at(2)),  # ordered before the deregistration, arriving last
    ]
    assert_same(oracle_views(events), merged(events))


def test_a_centralized_order_naming_a_dwelling_does_not_quarantine_the_household() -> None:
    events = [
        make.dwelling(HOME, at(0), C1),
        make.registered(ELDER, at(1), HOME, C1),
        make.quarantine(ELDER, "Q1", at(2), "CENTRALIZED", HOME),
        make.requested(HOME, "DL-1", at(3)),
    ]
    assert_same(oracle_views(events), merged(events))
