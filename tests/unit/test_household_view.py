"""The household and community_situation views, as the batch merge writes them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy

from schemas.serde import Serde
from services.api.json_records import json_record
from services.merge import records
from services.merge.merge import Update
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
    renovation,
    requested,
    water,
)
from tests.support.stores import embedded_registry

OTHER_COMMUNITY = "C002"
HERMIT = "a0" * 32


def household(views: MemoryViews, dwelling_id: str = HOME) -> dict[str, Any]:
    """The shown household record of a dwelling (fails when it is not shown)."""
    shown = views.shown("household")
    assert dwelling_id in shown, f"household {dwelling_id} is shown"
    data: dict[str, Any] = shown[dwelling_id][1]
    return data


def household_provenance(views: MemoryViews, dwelling_id: str = HOME) -> dict[str, Any]:
    provenance: dict[str, Any] = views.shown("household")[dwelling_id][2]
    return provenance


def situation(views: MemoryViews, community: str = COMMUNITY) -> dict[str, Any]:
    """The shown community_situation record ({} while the community is not shown)."""
    shown = views.shown("community_situation").get(community)
    return dict(shown[1]) if shown else {}


def counts(views: MemoryViews, community: str = COMMUNITY) -> dict[str, Any]:
    """The community's counts (renovation and freshness left aside)."""
    found = situation(views, community)
    return {
        k: v for k, v in found.items() if k not in ("renovation_projects", "department_freshness")
    }


def changes_of(views: MemoryViews, view: str) -> list[tuple[str, Any]]:
    return [(key, record) for name, key, record in views.changes if name == view]


# --- residents -------------------------------------------------------------------------------


def test_residents_are_listed_from_their_profiles_sorted_and_counted() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            registered(SPOUSE, at(1)),
            registered(ELDER, at(2)),
            registered(CHILD, at(3)),
        ]
    )
    found = household(views)
    assert found["resident_person_keys"] == sorted([ELDER, SPOUSE, CHILD])
    assert found["resident_count"] == 3
    assert (found["community_code"], found["grid_id"], found["building"]) == (
        COMMUNITY,
        GRID,
        "3号楼",
    )


def test_a_dwelling_with_no_resident_is_shown_with_an_empty_household() -> None:
    found = household(merged_views([dwelling(at(0))]))
    assert (found["resident_person_keys"], found["resident_count"]) == ([], 0)


def test_a_resident_moving_leaves_one_household_and_joins_the_other() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            dwelling(at(0), dwelling_id=ELSEWHERE),
            registered(ELDER, at(1)),
            registered(SPOUSE, at(1)),
        ]
    )
    views.merge(moved(ELDER, at(2), ELSEWHERE))
    assert household(views)["resident_person_keys"] == [SPOUSE]
    assert household(views, ELSEWHERE)["resident_person_keys"] == [ELDER]
    assert (household(views)["resident_count"], household(views, ELSEWHERE)["resident_count"]) == (
        1,
        1,
    )


def test_a_move_older_than_the_registration_changes_no_household() -> None:
    views = merged_views(
        [dwelling(at(0)), registered(ELDER, at(5)), moved(ELDER, at(2), ELSEWHERE)]
    )
    assert household(views)["resident_person_keys"] == [ELDER]
    assert ELSEWHERE not in views.shown("household")


def test_a_household_is_shown_from_its_residents_before_housing_registers_the_dwelling() -> None:
    views = merged_views([registered(ELDER, at(1))])
    found = household(views)
    assert found["resident_person_keys"] == [ELDER]
    assert found["community_code"] == COMMUNITY  # the residents' community, until housing says
    assert (found["building"], found["rooms"], found["isolation_suitable"]) == (None, None, None)
    views.merge(dwelling(at(2), community=OTHER_COMMUNITY))
    assert household(views)["community_code"] == OTHER_COMMUNITY


def test_the_last_resident_leaving_an_unregistered_dwelling_removes_its_household() -> None:
    views = merged_views([registered(ELDER, at(1))])
    views.changes.clear()
    views.merge(moved(ELDER, at(2), None))
    assert HOME not in views.shown("household")
    assert changes_of(views, "household") == [(HOME, None)]


def test_a_deregistered_resident_leaves_the_household() -> None:
    views = merged_views([dwelling(at(0)), registered(ELDER, at(1)), registered(SPOUSE, at(1))])
    views.merge(deregistered(ELDER, at(2)))
    assert household(views)["resident_person_keys"] == [SPOUSE]


# --- quarantines ---------------------------------------------------------------------------


def test_a_home_order_without_a_dwelling_is_served_in_the_residents_dwelling() -> None:
    views = merged_views(
        [dwelling(at(0)), registered(ELDER, at(0)), quarantine(ELDER, "Q1", at(1), days=7)]
    )
    found = household(views)
    assert found["quarantined"] is True
    assert found["quarantines"] == {
        "Q1": {
            "person_key": ELDER,
            "kind": "HOME",
            "starts_at": ms(1),
            "planned_end_at": ms(1 + 7 * 24),
        }
    }
    assert found["quarantine_planned_end_at"] == ms(1 + 7 * 24)
    assert household_provenance(views)["quarantines"][0] == "health"


def test_an_order_naming_a_dwelling_is_served_there_not_at_the_residents_home() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            dwelling(at(0), dwelling_id=ELSEWHERE),
            registered(ELDER, at(0)),
            quarantine(ELDER, "Q1", at(1), dwelling_id=ELSEWHERE),
        ]
    )
    assert household(views, ELSEWHERE)["quarantines"]["Q1"]["person_key"] == ELDER
    assert household(views, ELSEWHERE)["resident_person_keys"] == []
    assert (household(views)["quarantined"], household(views)["quarantines"]) == (False, {})


def test_a_centralized_order_without_a_dwelling_is_served_in_no_household() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            registered(ELDER, at(0)),
            quarantine(ELDER, "Q1", at(1), kind="CENTRALIZED"),
        ]
    )
    found = household(views)
    assert (found["quarantined"], found["quarantines"], found["quarantine_planned_end_at"]) == (
        False,
        {},
        None,
    )


def test_the_planned_end_is_the_latest_among_the_open_orders_and_leaves_when_lifted() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            registered(ELDER, at(0)),
            registered(SPOUSE, at(0)),
            quarantine(ELDER, "Q1", at(1), days=14),
            quarantine(SPOUSE, "Q2", at(2), days=7),
        ]
    )
    assert household(views)["quarantine_planned_end_at"] == ms(1 + 14 * 24)
    views.merge(lifted(ELDER, "Q1", at(3)))
    found = household(views)
    assert (sorted(found["quarantines"]), found["quarantine_planned_end_at"]) == (
        ["Q2"],
        ms(2 + 7 * 24),
    )
    views.merge(lifted(SPOUSE, "Q2", at(4)))
    found = household(views)
    assert (found["quarantined"], found["quarantines"], found["quarantine_planned_end_at"]) == (
        False,
        {},
        None,
    )


def test_a_lift_arriving_before_its_order_leaves_no_quarantine() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            registered(ELDER, at(0)),
            lifted(ELDER, "Q1", at(3)),
            quarantine(ELDER, "Q1", at(1)),
        ]
    )
    assert household(views)["quarantines"] == {}


# --- isolation suitability ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("residents", "rooms", "separate_bathroom", "suitable"),
    [
        (1, 1, False, True),
        (2, 2, True, True),
        (3, 3, True, True),
        (2, 1, True, False),
        (2, 3, False, False),
    ],
    ids=["one resident", "second room and bathroom", "three rooms", "one room", "shared bathroom"],
)
def test_isolation_is_suitable_alone_or_with_a_second_room_and_a_separate_bathroom(
    residents: int, rooms: int, separate_bathroom: bool, suitable: bool
) -> None:
    people = [ELDER, SPOUSE, CHILD][:residents]
    views = merged_views(
        [dwelling(at(0), rooms, separate_bathroom), *(registered(p, at(1)) for p in people)]
    )
    assert household(views)["isolation_suitable"] is suitable


def test_isolation_suitability_is_unknown_until_housing_registers_the_dwelling() -> None:
    views = merged_views([registered(ELDER, at(1)), registered(SPOUSE, at(1))])
    assert household(views)["isolation_suitable"] is None
    views.merge(dwelling(at(2), rooms=1))
    assert household(views)["isolation_suitable"] is False


def test_isolation_suitability_follows_the_residents_moving_in() -> None:
    views = merged_views([dwelling(at(0), rooms=1), registered(ELDER, at(1))])
    assert household(views)["isolation_suitable"] is True
    views.merge(registered(SPOUSE, at(2)))
    assert household(views)["isolation_suitable"] is False


# --- deliveries ----------------------------------------------------------------------------


def test_open_deliveries_are_listed_with_their_request_time_and_counted() -> None:
    views = merged_views([dwelling(at(0)), requested("DL-2", at(2)), requested("DL-1", at(1))])
    found = household(views)
    assert found["open_deliveries"] == {"DL-1": ms(1), "DL-2": ms(2)}
    assert found["open_delivery_count"] == 2
    assert household_provenance(views)["open_deliveries"][0] == "commerce"
    views.merge(fulfilled("DL-1", at(3)))
    found = household(views)
    assert (found["open_deliveries"], found["open_delivery_count"]) == ({"DL-2": ms(2)}, 1)


def test_a_delivery_fulfilled_before_its_request_arrives_is_never_open() -> None:
    views = merged_views([dwelling(at(0)), fulfilled("DL-1", at(3))])
    views.merge(requested("DL-1", at(1)))
    assert (household(views)["open_deliveries"], household(views)["open_delivery_count"]) == ({}, 0)


# --- renovation ----------------------------------------------------------------------------


def test_the_project_covering_the_dwellings_building_is_shown() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            dwelling(at(0), dwelling_id=ELSEWHERE, building="9号楼"),
            renovation("RP-1", at(1), ["3号楼", "4号楼"], "DESIGN", 10),
        ]
    )
    found = household(views)
    assert (
        found["renovation_project_id"],
        found["renovation_stage"],
        found["renovation_percent"],
    ) == (
        "RP-1",
        "DESIGN",
        10,
    )
    assert household_provenance(views)["renovation_stage"][0] == "housing"
    other = household(views, ELSEWHERE)
    assert (
        other["renovation_project_id"],
        other["renovation_stage"],
        other["renovation_percent"],
    ) == (
        None,
        None,
        None,
    )


def test_a_project_with_no_buildings_covers_every_dwelling_of_the_community() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            dwelling(at(0), dwelling_id=ELSEWHERE, building="9号楼"),
            renovation("RP-ALL", at(1), []),
        ]
    )
    assert household(views)["renovation_project_id"] == "RP-ALL"
    assert household(views, ELSEWHERE)["renovation_project_id"] == "RP-ALL"


def test_progress_reported_later_reaches_households_nothing_else_touched() -> None:
    views = merged_views(
        [dwelling(at(0))], [renovation("RP-1", at(1), ["3号楼"], "CONSTRUCTION", 40)]
    )
    assert household(views)["renovation_percent"] == 40
    views.merge(renovation("RP-1", at(2), ["3号楼"], "COMPLETED", 100))
    found = household(views)
    assert (found["renovation_stage"], found["renovation_percent"]) == ("COMPLETED", 100)
    views.merge(renovation("RP-1", at(3), ["4号楼"], "COMPLETED", 100))
    assert household(views)["renovation_project_id"] is None


def test_an_older_progress_report_changes_nothing() -> None:
    views = merged_views([dwelling(at(0)), renovation("RP-1", at(2), ["3号楼"], "ACCEPTANCE", 90)])
    views.merge(renovation("RP-1", at(1), ["3号楼"], "DESIGN", 10))
    assert household(views)["renovation_stage"] == "ACCEPTANCE"
    assert situation(views)["renovation_projects"] == {
        "RP-1": {"stage": "ACCEPTANCE", "percent": 90, "buildings": ["3号楼"]}
    }


def test_of_two_projects_covering_a_building_the_latest_reported_is_shown() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            renovation("RP-ROADS", at(1), []),
            renovation("RP-PIPES", at(2), ["3号楼"], "DESIGN", 5),
        ]
    )
    assert household(views)["renovation_project_id"] == "RP-PIPES"
    views.merge(renovation("RP-ROADS", at(3), [], "CONSTRUCTION", 60))
    assert household(views)["renovation_project_id"] == "RP-ROADS"


# --- water ---------------------------------------------------------------------------------


def test_water_readings_show_the_latest_value_its_time_and_the_last_activity() -> None:
    views = merged_views(
        [dwelling(at(0)), water(10.0, at(1)), water(12.5, at(5)), water(12.5, at(9))]
    )
    found = household(views)
    assert (found["last_water_reading"], found["last_water_reading_at"]) == (12.5, ms(9))
    assert found["last_water_activity_at"] == ms(5)
    assert household_provenance(views)["last_water_reading"][0] == "utilities"


def test_water_readings_in_any_order_give_the_same_household() -> None:
    readings = [water(10.0, at(1)), water(12.5, at(5)), water(12.5, at(9)), water(11.0, at(3))]
    expected = household(merged_views([dwelling(at(0)), *readings]))
    for seed in range(5):
        shuffled = readings[:]
        random.Random(seed).shuffle(shuffled)
        assert household(merged_views([dwelling(at(0))], *([r] for r in shuffled))) == expected


def test_with_several_meters_the_value_is_the_latest_read_and_activity_the_latest_use() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            water(10.0, at(1), "W-1"),
            water(10.0, at(8), "W-1"),
            water(3.0, at(2), "W-2"),
            water(3.5, at(6), "W-2"),
        ]
    )
    found = household(views)
    assert (found["last_water_reading"], found["last_water_reading_at"]) == (10.0, ms(8))
    assert found["last_water_activity_at"] == ms(6)


def test_electricity_readings_leave_the_water_fields_alone() -> None:
    views = merged_views([dwelling(at(0)), water(500.0, at(1), "E-1", kind="ELECTRICITY")])
    found = household(views)
    assert (
        found["last_water_reading"],
        found["last_water_reading_at"],
        found["last_water_activity_at"],
    ) == (
        None,
        None,
        None,
    )


def test_water_times_are_the_readings_event_times() -> None:
    views = merged_views(
        [
            dwelling(at(0)),
            water(10.0, at(2), read_at=at(1)),
            water(11.0, at(6), read_at=at(5)),
            water(11.0, at(9), read_at=at(7)),
        ]
    )
    found = household(views)
    assert (found["last_water_reading_at"], found["last_water_activity_at"]) == (ms(9), ms(6))


# --- community_situation counts ---------------------------------------------------------------


def settled() -> list[list[Update]]:
    """HOME: an elder living alone and a disabled spouse; CHILD at ELSEWHERE."""
    return [
        dwelling(at(0)),
        dwelling(at(0), dwelling_id=ELSEWHERE),
        registered(ELDER, at(0)),
        assessed(ELDER, at(1)),
        registered(SPOUSE, at(0)),
        assessed(SPOUSE, at(1), living_alone=False, disability="GRADE_2"),
        registered(CHILD, at(0), ELSEWHERE),
        health(ELDER, "GREEN", at(1)),
        health(SPOUSE, "YELLOW", at(1)),
    ]


def troubled() -> list[list[Update]]:
    """SPOUSE turns RED in home quarantine; each dwelling asks for a delivery."""
    return [
        health(SPOUSE, "RED", at(2)),
        quarantine(SPOUSE, "Q1", at(2)),
        requested("DL-1", at(2)),
        requested("DL-2", at(2), dwelling_id=ELSEWHERE),
    ]


def recovering() -> list[list[Update]]:
    """CHILD moves in, the quarantine is lifted, one delivery arrives, the elder is reassessed."""
    return [
        moved(CHILD, at(3), HOME),
        lifted(SPOUSE, "Q1", at(3)),
        fulfilled("DL-1", at(3)),
        assessed(ELDER, at(3), living_alone=False),
    ]


SETTLED = {
    "residents": 3,
    "households": 2,
    "elderly_living_alone": 1,
    "disabled_residents": 1,
    "quarantined_households": 0,
    "health_status_counts": {"GREEN": 1, "YELLOW": 1},
    "pending_deliveries": 0,
    "open_alerts": {},
    "elderly_alone_unvaccinated": 1,  # nobody's vaccination is recorded
    "residents_without_negative_test": None,  # no epidemic test window set
}
TROUBLED = SETTLED | {
    "quarantined_households": 1,
    "health_status_counts": {"GREEN": 1, "RED": 1},
    "pending_deliveries": 2,
    "open_alerts": {"ISOLATION_RISK": 1, "QUARANTINE_DELIVERY": 1, "RED_STATUS": 1},
}
RECOVERING = TROUBLED | {
    "households": 1,
    "elderly_living_alone": 0,
    "elderly_alone_unvaccinated": 0,
    "quarantined_households": 0,
    "pending_deliveries": 1,
    "open_alerts": {"RED_STATUS": 1},
}
DEREGISTERED = RECOVERING | {
    "residents": 2,
    "disabled_residents": 0,
    "health_status_counts": {"GREEN": 1},
    "open_alerts": {},
}


def test_community_counts_move_with_each_transition() -> None:
    views = merged_views(settled())
    assert counts(views) == SETTLED
    views.merge(one for made in troubled() for one in made)
    assert counts(views) == TROUBLED
    views.merge(one for made in recovering() for one in made)
    assert counts(views) == RECOVERING
    views.merge(deregistered(SPOUSE, at(4)))
    assert counts(views) == DEREGISTERED


def test_merging_the_same_batch_twice_counts_nothing_twice() -> None:
    views = merged_views(settled(), troubled())
    views.changes.clear()
    views.merge(one for made in troubled() for one in made)
    views.merge(one for made in [*settled(), *troubled()] for one in made)
    assert counts(views) == TROUBLED
    assert views.changes == []


def test_an_event_repeated_within_a_batch_counts_once() -> None:
    views = merged_views([*settled(), *settled(), *troubled(), *troubled()])
    assert counts(views) == TROUBLED


def test_a_resident_moving_to_another_community_moves_its_counts() -> None:
    views = merged_views(settled())
    views.merge(moved(CHILD, at(3), None, community=OTHER_COMMUNITY))
    assert (counts(views)["residents"], counts(views)["households"]) == (2, 1)
    assert counts(views, OTHER_COMMUNITY) == {
        "residents": 1,
        "households": 0,
        "elderly_living_alone": 0,
        "disabled_residents": 0,
        "quarantined_households": 0,
        "health_status_counts": {},
        "pending_deliveries": 0,
        "open_alerts": {},
        "elderly_alone_unvaccinated": 0,
        "residents_without_negative_test": None,
    }


def test_a_dwelling_registered_in_another_community_takes_its_household_along() -> None:
    views = merged_views(settled(), troubled())
    views.merge(dwelling(at(5), dwelling_id=ELSEWHERE, community=OTHER_COMMUNITY))
    assert (counts(views)["households"], counts(views)["pending_deliveries"]) == (1, 1)
    moved_away = counts(views, OTHER_COMMUNITY)
    assert (
        moved_away["households"],
        moved_away["pending_deliveries"],
        moved_away["residents"],
    ) == (1, 1, 0)


def every_event() -> list[list[Update]]:
    return [*settled(), *troubled(), *recovering(), renovation("RP-1", at(3), ["3号楼"])]


def test_the_views_do_not_depend_on_event_order_or_batching() -> None:
    events = every_event()
    expected = merged_views(events)
    for seed in range(5):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        views = merged_views(*([made] for made in shuffled))
        for view in ("resident_profile", "household", "alert"):
            assert views.shown(view) == expected.shown(view), view
        assert counts(views) == counts(expected) == RECOVERING
        assert situation(views)["renovation_projects"] == situation(expected)["renovation_projects"]


# --- freshness -------------------------------------------------------------------------------


def test_freshness_per_department_is_the_newest_event_time_seen() -> None:
    views = merged_views(settled(), troubled())
    assert situation(views)["department_freshness"] == {
        "civil-affairs": ms(1),
        "commerce": ms(2),
        "health": ms(2),
        "housing": ms(0),
        "public-security": ms(0),
    }
    views.merge(health(ELDER, "YELLOW", at(1) - timedelta(minutes=30)))  # late and older
    views.merge(water(10.0, at(7)) + renovation("RP-1", at(6), []))
    assert situation(views)["department_freshness"] == {
        "civil-affairs": ms(1),
        "commerce": ms(2),
        "health": ms(2),
        "housing": ms(6),
        "public-security": ms(0),
        "utilities": ms(7),
    }


def test_freshness_does_not_depend_on_how_events_are_batched() -> None:
    events = [
        dwelling(at(0)),
        registered(SPOUSE, at(0)),
        registered(ELDER, at(0)),
        health(ELDER, "GREEN", at(1)),
        deregistered(ELDER, at(2)),
    ]
    one_batch = merged_views(events)
    one_by_one = merged_views(*([made] for made in events))
    assert situation(one_by_one)["department_freshness"]["health"] == ms(1)
    assert (
        situation(one_batch)["department_freshness"]
        == situation(one_by_one)["department_freshness"]
    )


# --- every record fits its view contract --------------------------------------------------------


@pytest.fixture(scope="module")
def serde() -> Iterator[Serde]:
    engine = sqlalchemy.create_engine("sqlite://")
    yield Serde(CATALOG, embedded_registry(engine))
    engine.dispose()


def rich_views() -> MemoryViews:
    """Every view populated: quarantines, deliveries, water, renovation, alerts, no-dwelling."""
    return merged_views(
        every_event(),
        [
            registered(LODGER, at(4), None),
            health(LODGER, "RED", at(4)),
            quarantine(ELDER, "Q2", at(4)),
            water(10.0, at(4)),
            water(10.0, at(30)),
            requested("DL-3", at(5)),
            registered(HERMIT, at(4), ELSEWHERE),
            assessed(HERMIT, at(4)),
            water(3.0, at(4), dwelling_id=ELSEWHERE),
            water(3.0, at(30), dwelling_id=ELSEWHERE),
        ],
    )


@pytest.mark.parametrize("view", ["household", "community_situation", "alert", "resident_profile"])
def test_every_shown_record_encodes_against_its_view_contract(serde: Serde, view: str) -> None:
    views = rich_views()
    contract = CATALOG.view(view)
    shown = views.shown(view)
    assert shown, f"the scenario shows {view} rows"
    for key, (_, data, provenance) in shown.items():
        record = records.avro_record(contract, key, data, provenance)
        assert set(record) == set(contract.field_names)
        decoded = serde.decode(contract, serde.encode(contract, record))
        assert millis_of(decoded) == millis_of(record)


def test_the_rich_scenario_exercises_every_household_feature_and_alert() -> None:
    views = rich_views()
    assert {data["alert_type"] for _, data, _ in views.shown("alert").values()} == {
        "WELFARE_CHECK",
        "ISOLATION_RISK",
        "QUARANTINE_DELIVERY",
        "RED_STATUS",
    }
    found = household(views)
    assert found["quarantined"]
    assert found["open_deliveries"] == {"DL-3": ms(5)}
    assert found["renovation_project_id"] == "RP-1"
    assert found["last_water_reading"] == 10.0
    assert len(found["resident_person_keys"]) == 3


def test_json_records_carry_the_key_and_named_provenance() -> None:
    views = merged_views(settled(), troubled())
    (_, data, provenance) = views.shown("household")[HOME]
    record = json_record(CATALOG.view("household").key_field, HOME, data, provenance)
    assert record["dwelling_id"] == HOME
    assert record["provenance"]["rooms"]["department"] == "housing"
    assert set(record["provenance"]) <= set(CATALOG.view("household").field_names)
