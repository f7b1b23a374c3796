"""The live demo's events: valid by the HTTP push's contract, about the demo's own people and
homes, and consistent with what was sent before.

The oracles are the contract (each event's JSON Schema, and the intake's parser that the
API runs) and the rules of the feed read off the events themselves: one event per sending
department a round, a lift names an open order, a fulfilment an open request to the same
home, a water meter only counts up from the exports' last value.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from connectors.base import Event
from connectors.demo import build_population
from connectors.demo.live import EVERY_ROUND, RENOVATION_EVERY, LiveEvent, LiveFeed
from connectors.demo.model import Population
from connectors.identity import check_digit
from connectors.sources.json_contract import JsonContract
from schemas.catalog import Catalog
from schemas.ingest_schema import ingest_schema

CATALOG = Catalog.load()
KEY = b"k" * 32
CLOCK = datetime(2026, 3, 10, 7, 30, tzinfo=UTC)
ROUNDS = 400


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(2, 400, 5, CLOCK)


@pytest.fixture(scope="module")
def rounds(population: Population) -> list[tuple[datetime, list[LiveEvent]]]:
    feed = LiveFeed(population, random.Random(1), "r1")
    moments = [CLOCK + timedelta(seconds=n) for n in range(ROUNDS)]
    return [(now, feed.tick(now)) for now in moments]


def events(rounds: list[tuple[datetime, list[LiveEvent]]]) -> list[LiveEvent]:
    return [e for _, round_events in rounds for e in round_events]


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_each_round_has_an_event_of_every_streaming_department_and_housing_one_a_minute(
    population: Population, rounds: list[tuple[datetime, list[LiveEvent]]]
) -> None:
    stage, community = {}, {}
    for report in sorted(population.renovations, key=lambda r: r.at):
        stage[report.project_id] = report.stage
        community[report.project_id] = report.community_code
    for n, (now, round_events) in enumerate(rounds):
        # One report in each community with an unfinished project, once a minute.
        unfinished = {community[p] for p, s in stage.items() if s != "COMPLETED"}
        housing = ["housing"] * len(unfinished) if n % RENOVATION_EVERY == 0 else []
        assert sorted(e.department for e in round_events) == sorted([*EVERY_ROUND, *housing])
        assert {e.body["event_time"] for e in round_events} == {ms(now)}
        reported = [e.body["community_code"] for e in round_events if e.department == "housing"]
        assert sorted(reported) == sorted(unfinished if housing else [])
        for event in round_events:
            if event.department == "housing":
                stage[event.body["project_id"]] = event.body["stage"]


def test_every_event_fits_its_contract_and_the_intake_reads_it(
    rounds: list[tuple[datetime, list[LiveEvent]]],
) -> None:
    kinds: Counter[str] = Counter()
    for event in events(rounds):
        contract = CATALOG.event(event.department, event.event)
        jsonschema.Draft202012Validator(ingest_schema(contract)).validate(event.body)
        assert isinstance(JsonContract(contract, KEY).to_event(dict(event.body)), Event)
        assert event.path == f"/ingest/{event.department}/{event.event}"
        kinds[event.event] += 1
    # Over a few hundred rounds, every kind of news the feed makes turns up.
    assert set(kinds) == {
        "health-status-changed",
        "quarantine-ordered",
        "quarantine-lifted",
        "delivery-requested",
        "delivery-fulfilled",
        "meter-reading",
        "grid-report-filed",
        "care-visit-logged",
        "renovation-progress-reported",
    }


def test_event_ids_are_unique_and_carry_the_run(
    rounds: list[tuple[datetime, list[LiveEvent]]],
) -> None:
    ids = [e.body["event_id"] for e in events(rounds)]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("live-r1-") for i in ids)


def test_people_and_homes_are_the_demo_populations_and_no_name_or_phone_is_sent(
    population: Population, rounds: list[tuple[datetime, list[LiveEvent]]]
) -> None:
    residents = {r.id_number for r in population.residents}
    homes = {d.dwelling_id for d in population.dwellings}
    grids = {(c.code, g) for c in population.communities for g in c.grid_ids}
    personal = {r.name for r in population.residents} | {
        r.phone for r in population.residents if r.phone
    }
    for event in events(rounds):
        body: dict[str, Any] = event.body
        if "id_number" in body:
            number = body["id_number"]
            assert number in residents and check_digit(number[:17]) == number[17]
        if "dwelling_id" in body:
            assert body["dwelling_id"] in homes
        if event.event == "grid-report-filed":
            assert (body["community_code"], body["grid_id"]) in grids
        assert not {"name", "phone", "person_key"} & set(body)
        assert not personal & {v for v in body.values() if isinstance(v, str)}


def test_a_lift_ends_an_open_order_and_a_fulfilment_an_open_request_to_the_same_home(
    rounds: list[tuple[datetime, list[LiveEvent]]],
) -> None:
    orders: dict[str, tuple[str, str]] = {}
    requests: dict[str, str] = {}
    for event in events(rounds):
        body = event.body
        if event.event == "quarantine-ordered":
            orders[body["quarantine_id"]] = (body["id_number"], body["dwelling_id"])
        elif event.event == "quarantine-lifted":
            assert orders.pop(body["quarantine_id"]) == (body["id_number"], body["dwelling_id"])
        elif event.event == "delivery-requested":
            requests[body["delivery_id"]] = body["dwelling_id"]
        elif event.event == "delivery-fulfilled":
            assert requests.pop(body["delivery_id"]) == body["dwelling_id"]


def test_a_water_meter_only_counts_up_from_the_exports_last_value(
    population: Population, rounds: list[tuple[datetime, list[LiveEvent]]]
) -> None:
    last = {}
    for reading in sorted(population.readings, key=lambda r: r.read_at):
        last[reading.meter_id] = reading.value
    for event in events(rounds):
        if event.event == "meter-reading":
            meter, value = event.body["meter_id"], event.body["value"]
            assert value > last[meter], meter
            last[meter] = value


def test_a_project_only_moves_forward_within_each_stages_range(
    population: Population, rounds: list[tuple[datetime, list[LiveEvent]]]
) -> None:
    stages = ("PLANNED", "DESIGN", "TENDERING", "CONSTRUCTION", "ACCEPTANCE", "COMPLETED")
    ranges = {
        "PLANNED": (0, 0),
        "DESIGN": (5, 12),
        "TENDERING": (15, 22),
        "CONSTRUCTION": (30, 90),
        "ACCEPTANCE": (94, 98),
        "COMPLETED": (100, 100),
    }
    last = {}
    for report in sorted(population.renovations, key=lambda r: r.at):
        last[report.project_id] = (stages.index(report.stage), report.percent)
    for event in events(rounds):
        if event.event == "renovation-progress-reported":
            body = event.body
            stage, percent = stages.index(body["stage"]), body["percent"]
            low, high = ranges[body["stage"]]
            assert (stage, percent) > last[body["project_id"]] and low <= percent <= high
            last[body["project_id"]] = (stage, percent)


def test_the_same_population_generator_and_clock_give_the_same_events(
    population: Population,
) -> None:
    def run() -> list[LiveEvent]:
        feed = LiveFeed(population, random.Random(9), "r2")
        return [e for n in range(20) for e in feed.tick(CLOCK + timedelta(seconds=n))]

    assert run() == run()


def test_the_share_of_residents_not_green_stays_near_its_level_over_an_hour_of_feeding(
    population: Population,
) -> None:
    status = {}
    for change in sorted(population.health_statuses, key=lambda s: s.at):
        status[change.id_number] = change.status
    unwell = sum(1 for s in status.values() if s != "GREEN")
    bound = max(unwell, 5, len(population.residents) * 2 // 100) + 1
    feed = LiveFeed(population, random.Random(3), "r3")
    for n in range(3600):  # an hour at one round a second
        for event in feed.tick(CLOCK + timedelta(seconds=n)):
            if event.event == "health-status-changed":
                status[event.body["id_number"]] = event.body["status"]
        assert sum(1 for s in status.values() if s != "GREEN") <= bound, n
