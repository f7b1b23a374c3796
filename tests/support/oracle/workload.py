"""A seeded workload over three communities that exercises every merge rule.

Residents register, move (across communities too), deregister and some register again;
health changes (RED among them), care assessments, home and centralized quarantines
(some lifted), deliveries (some fulfilled), renovation projects (one for the whole
community), water meters that go silent for over a day, a few dwellings with two water
meters, electricity readings, grid reports that claim a resident's dwelling (conflicts)
and events that only count for freshness. Times sit on a half-hour grid, so equal
event_times (ties broken by event_id) occur.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta

from connectors.base import Event
from tests.support.keys import TEST_HMAC_KEY
from tests.support.oracle import events as make

T0 = datetime(2024, 6, 1, tzinfo=UTC)
COMMUNITIES = ("C001", "C002", "C003")
BUILDINGS = ("1号楼", "2号楼", "3号楼")
HOURS = 96


def person_key(n: int) -> str:
    """A person_key-shaped (64 hex) key."""
    return hashlib.sha256(f"person-{n}".encode()).hexdigest()


class _Clock:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def at(self, start: float = 0, end: float = HOURS) -> datetime:
        """A time on the half-hour grid between ``start`` and ``end`` hours after T0."""
        slot = self.rng.randrange(int(start * 2), int(end * 2) + 1)
        return T0 + timedelta(minutes=30 * slot)


def workload(
    seed: int,
    residents: int = 80,
    dwellings: int = 40,
    *,
    second_meters: bool = False,
    tasks: bool = False,
) -> list[Event]:
    """The workload's events, grouped by subject (not in time order).

    ``second_meters`` gives every seventh dwelling a second water meter; ``tasks`` adds the
    grid office's tasks on the residents' welfare-check and red-status alerts (raised or not).
    """
    rng = random.Random(seed)
    clock = _Clock(rng)
    homes = {f"D-{i:03d}": rng.choice(COMMUNITIES) for i in range(dwellings)}
    found = _dwellings(rng, clock, homes, second_meters)
    for n in range(residents):
        found += _resident(rng, clock, person_key(n), homes)
    found += _deliveries(rng, clock, list(homes))
    found += _renovations(rng, clock)
    if tasks:
        found += _tasks(rng, clock, residents)
    return found


def _tasks(rng: random.Random, clock: _Clock, residents: int) -> list[Event]:
    """Assignments, reassignments and visits of every outcome on the residents' alerts, at
    random times (before an alert opened, too), and one task naming no alert the hub made."""
    found = [make.task_assigned("C001", clock.at(), "not-an-alert-id")]
    for n in range(residents):
        for rule in ("WELFARE_CHECK", "RED_STATUS"):
            if rng.random() < 0.5:
                continue
            alert = alert_id(rule, person_key(n))
            community = rng.choice(COMMUNITIES)
            for step in range(rng.randint(1, 3)):
                task = f"T-{n}-{rule[0]}-{step}"
                worker = f"W-{rng.randint(1, 4):03d}"
                due = clock.at() if rng.random() < 0.5 else None
                # Mostly late in the workload, after most alerts opened; a few before.
                when = clock.at(0 if rng.random() < 0.2 else 48)
                found.append(make.task_assigned(community, when, alert, worker, task, due))
                if rng.random() < 0.7:
                    visit = rng.choice(("DONE", "NOBODY_HOME", "REFERRED", None))
                    referred = "health" if visit == "REFERRED" else None
                    found.append(
                        make.task_completed(
                            community, clock.at(48), alert, visit, task, referred, f"n {step}"
                        )
                    )
    return found


def alert_id(rule: str, subject: str, key: bytes = TEST_HMAC_KEY) -> str:
    """An alert's id as the README defines it (HMAC of ``alert-id:<rule>:<subject>``)."""
    message = f"alert-id:{rule}:{subject}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _dwellings(
    rng: random.Random, clock: _Clock, homes: dict[str, str], second_meters: bool
) -> list[Event]:
    found = []
    for i, (dwelling, community) in enumerate(homes.items()):
        if i % 5 != 4:  # every fifth dwelling is never registered by housing
            found.append(_registration(rng, clock.at(0, 12), dwelling, community))
        if i % 8 == 1:  # a correction: another building, rooms, even another community
            moved_to = rng.choice(COMMUNITIES)
            found.append(_registration(rng, clock.at(12), dwelling, moved_to))
        found += _water(rng, dwelling, "W-1")
        if second_meters and i % 7 == 3:
            found += _water(rng, dwelling, "W-2")
        if i % 3 == 0:
            found.append(make.reading(dwelling, 100.0 + i, clock.at(), "E-1", "ELECTRICITY"))
    return found


def _registration(rng: random.Random, when: datetime, dwelling: str, community: str) -> Event:
    building, rooms = rng.choice(BUILDINGS), rng.randint(1, 3)
    return make.dwelling(dwelling, when, community, building, rooms, rng.random() < 0.5)


def _water(rng: random.Random, dwelling: str, meter: str) -> list[Event]:
    """Readings every three hours; some meters stop going up for a day or more, and now and
    then a misread lower value (the register never goes down) comes in."""
    silent_from = rng.choice((HOURS, HOURS, 30.0, 50.0, 70.0))
    value, found = 10.0 * rng.randint(1, 9), []
    for hour in range(0, HOURS, 3):
        if hour < silent_from and rng.random() < 0.8:
            value += rng.choice((0.1, 0.2, 0.5))
        misread = value - 5.0 if rng.random() < 0.03 else value
        found.append(make.reading(dwelling, round(misread, 1), T0 + timedelta(hours=hour), meter))
    return found


def _resident(rng: random.Random, clock: _Clock, person: str, homes: dict[str, str]) -> list[Event]:
    def somewhere() -> tuple[str | None, str]:
        if rng.random() < 0.1:
            return None, rng.choice(COMMUNITIES)
        dwelling = rng.choice(list(homes))
        return dwelling, homes[dwelling]

    found = [make.registered(person, clock.at(0, 24), *somewhere())]
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        found.append(make.moved(person, clock.at(), *somewhere()))
    if rng.random() < 0.12:
        found.append(make.deregistered(person, clock.at(24, 40)))
        if rng.random() < 0.5:
            # A quarantine order may be older than the deregistration: it must stay erased.
            found.append(make.registered(person, clock.at(48), *somewhere()))
    for _ in range(rng.randint(0, 3)):
        found.append(make.health(person, rng.choice(("GREEN", "YELLOW", "RED")), clock.at()))
    if rng.random() < 0.4:
        found.append(
            make.assessed(person, clock.at(), rng.random() < 0.6, rng.choice(("NONE", "GRADE_2")))
        )
    if rng.random() < 0.2:
        found += _quarantine(rng, clock, person, list(homes))
    if rng.random() < 0.3:
        found.append(make.vaccination(person, clock.at()))
    if rng.random() < 0.1:
        dwelling = rng.choice(list(homes))
        found.append(make.grid_report(homes[dwelling], clock.at(), person, dwelling))
    return found


def _quarantine(rng: random.Random, clock: _Clock, person: str, homes: list[str]) -> list[Event]:
    qid = f"Q-{person[:6]}"
    kind, dwelling = rng.choice(
        (("HOME", None), ("HOME", None), ("HOME", rng.choice(homes)), ("CENTRALIZED", None))
    )
    found = [make.quarantine(person, qid, clock.at(0, 60), kind, dwelling)]
    if rng.random() < 0.4:
        found.append(make.lifted(person, qid, clock.at(60)))
    return found


def _deliveries(rng: random.Random, clock: _Clock, homes: list[str]) -> list[Event]:
    found = []
    for i in range(len(homes)):
        dwelling, delivery = rng.choice(homes), f"DL-{i:03d}"
        found.append(make.requested(dwelling, delivery, clock.at(0, 80), rng.random() < 0.7))
        if rng.random() < 0.5:
            found.append(make.fulfilled(dwelling, delivery, clock.at(80)))
    return found


def _renovations(rng: random.Random, clock: _Clock) -> list[Event]:
    """One project per community, reported three times; the first covers the whole
    community, the others' buildings change from report to report."""
    found = []
    for i, community in enumerate(COMMUNITIES):
        project = f"RN-{i}"
        for percent in sorted(rng.sample(range(0, 101, 10), 3)):
            buildings = [] if i == 0 else rng.sample(BUILDINGS, rng.randint(1, 2))
            found.append(make.renovation(community, project, clock.at(), buildings, percent))
        found.append(make.grid_report(community, clock.at()))
    return found
