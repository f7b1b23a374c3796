"""What the health commission and civil affairs recorded about the demo residents.

Quarantine: about 1.5% of residents are index cases. A home quarantine isolates the whole
household in its dwelling; the first one is placed, on purpose, in a dwelling without a
separate bathroom, so the isolation-risk rule has something to find.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta

from connectors.dates import CHINA
from connectors.demo import vocab
from connectors.demo.model import (
    ELDERLY_AGE,
    CareAssessment,
    CareVisit,
    Dwelling,
    HealthStatus,
    Household,
    Quarantine,
    Resident,
    TestResult,
    Vaccination,
    age_of,
)

QUARANTINE_SHARE = 0.01
POSITIVE_SHARE = 0.1


def build_quarantines(
    households: Sequence[Household],
    dwellings: dict[str, Dwelling],
    as_of: datetime,
    rng: random.Random,
) -> list[Quarantine]:
    """Quarantine orders: home ones for whole households, centralized ones for one person."""
    if not households:
        return []
    wanted = max(1, round(QUARANTINE_SHARE * sum(len(h.members) for h in households)))
    chosen = rng.sample(list(households), min(len(households), wanted))
    cramped = [h for h in households if not dwellings[h.dwelling_id].has_separate_bathroom]
    shared = [h for h in cramped if len(h.members) > 1] or cramped
    if shared:  # the first order is always a home quarantine where isolation is unsafe
        first = rng.choice(shared)
        chosen = [first, *(h for h in chosen if h is not first)][:wanted]
    orders = [
        order
        for index, household in enumerate(chosen)
        for order in _orders(household, index == 0, as_of, rng)
    ]
    return [
        replace(o, quarantine_id=f"QZ{o.ordered_at:%Y}-{n:06d}") for n, o in enumerate(orders, 1)
    ]


def _orders(
    household: Household, first: bool, as_of: datetime, rng: random.Random
) -> list[Quarantine]:
    """One case: the whole household at home, or the index person in a facility.

    The first case is a recent home quarantine, still open at ``as_of``.
    """
    home = first or rng.random() < 0.6
    ordered = as_of - timedelta(days=rng.randint(1, 5 if first else 12), hours=rng.randint(0, 10))
    starts = ordered + timedelta(hours=rng.randint(1, 5))
    planned_end = starts + timedelta(days=7 if home else rng.choice((7, 10)))
    reason = rng.choice(vocab.QUARANTINE_REASONS)
    facility = None if home else rng.choice(vocab.FACILITIES)
    orders = []
    for person in household.members if home else household.members[:1]:
        lifted = planned_end + timedelta(hours=rng.randint(1, 8))
        done = lifted < as_of and not first
        outcome = "COMPLETED" if rng.random() < 0.95 else "CANCELLED"
        orders.append(
            Quarantine(
                quarantine_id="",
                id_number=person,
                kind="HOME" if home else "CENTRALIZED",
                dwelling_id=household.dwelling_id if home else None,
                facility=facility,
                reason=reason,
                ordered_at=ordered,
                starts_at=starts,
                planned_end_at=planned_end,
                lifted_at=lifted if done else None,
                outcome=outcome if done else None,
            )
        )
    return orders


def build_health_records(
    quarantines: Sequence[Quarantine], as_of: datetime, rng: random.Random
) -> tuple[list[HealthStatus], list[TestResult]]:
    """Health-code colours and PCR results that follow each quarantine."""
    statuses: list[HealthStatus] = []
    tests: list[TestResult] = []
    for order in quarantines:
        statuses.append(HealthStatus(order.id_number, "YELLOW", order.ordered_at, order.reason))
        positive_day = 3 if rng.random() < POSITIVE_SHARE else None
        for day in (1, 3, 6):
            sampled = order.starts_at + timedelta(days=day, hours=rng.randint(0, 3))
            reported = sampled + timedelta(hours=rng.randint(6, 20))
            if reported > as_of or (order.lifted_at and sampled > order.lifted_at):
                break
            result = "POSITIVE" if day == positive_day else "NEGATIVE"
            tests.append(
                TestResult(
                    f"JC{sampled:%Y%m%d}{len(tests) + 1:06d}",
                    order.id_number,
                    "PCR",
                    result,
                    sampled,
                    reported,
                    rng.choice(vocab.LABS),
                )
            )
            if result == "POSITIVE":
                statuses.append(HealthStatus(order.id_number, "RED", reported, "核酸检测阳性"))
                break
        if order.lifted_at is not None and positive_day is None:
            statuses.append(HealthStatus(order.id_number, "GREEN", order.lifted_at, "解除隔离"))
    statuses.sort(key=lambda s: s.at)
    tests.sort(key=lambda t: t.reported_at)
    return statuses, tests


def build_vaccinations(
    residents: Sequence[Resident], as_of: datetime, rng: random.Random
) -> list[Vaccination]:
    """Flu shots for about a third of the elderly, COVID boosters for some adults."""
    doses: list[Vaccination] = []
    for person in residents:
        age = age_of(person.birth_date, as_of)
        if age >= ELDERLY_AGE and rng.random() < 0.35:
            given = [(vocab.VACCINES[2], 1)]
        elif age >= 18 and rng.random() < 0.1:
            given = [(rng.choice(vocab.VACCINES[:2]), rng.randint(3, 4))]
        else:
            continue
        for vaccine, dose in given:
            at = _working_time(as_of - timedelta(days=rng.randint(3, 240)), rng)
            doses.append(
                Vaccination(
                    record_id="",
                    id_number=person.id_number,
                    vaccine=vaccine,
                    dose=dose,
                    batch_no=f"{at.year - 1}{rng.randint(1, 12):02d}{rng.choice('ABC')}"
                    f"{rng.randint(1, 999):03d}",
                    site_code=f"JZ-{person.community_code[:6]}-{rng.randint(1, 9):02d}",
                    at=at,
                )
            )
    doses.sort(key=lambda d: (d.at, d.id_number))
    return [replace(d, record_id=f"YM{d.at:%Y}{i:07d}") for i, d in enumerate(doses, start=1)]


def build_care(
    residents: Sequence[Resident], as_of: datetime, rng: random.Random
) -> tuple[list[CareAssessment], list[CareVisit]]:
    """Care assessments of the elderly living alone, the disabled and allowance recipients."""
    assessments: list[CareAssessment] = []
    visits: list[CareVisit] = []
    for person in residents:
        elderly_alone = person.living_alone and age_of(person.birth_date, as_of) >= ELDERLY_AGE
        if not (elderly_alone or person.subsistence_allowance or person.disability_grade != "NONE"):
            continue
        assessed = _working_time(as_of - timedelta(days=rng.randint(20, 330)), rng)
        allowance = rng.randint(90, 140) * 1000 if person.subsistence_allowance else None
        assessments.append(
            CareAssessment(
                person.id_number,
                elderly_alone,
                person.disability_grade,
                person.subsistence_allowance,
                allowance,
                (assessed + timedelta(days=365)).date(),
                assessed,
            )
        )
        if elderly_alone:
            visits += _visits(person, as_of, rng)
    assessments.sort(key=lambda a: a.assessed_at)
    visits.sort(key=lambda v: (v.at, v.id_number))
    visits = [replace(v, visit_id=f"ZF{v.at:%Y%m%d}{n:06d}") for n, v in enumerate(visits, 1)]
    return assessments, visits


def _visits(person: Resident, as_of: datetime, rng: random.Random) -> list[CareVisit]:
    """One to three visits or calls in the last month."""
    visits = []
    for _ in range(rng.randint(1, 3)):
        at = _working_time(as_of - timedelta(days=rng.randint(1, 30)), rng)
        outcome = rng.choices(
            ("WELL", "NEEDS_FOLLOW_UP", "NOT_REACHED", "REFERRED_TO_SERVICES"), (70, 15, 10, 5)
        )[0]
        kind = rng.choices(("HOME_VISIT", "PHONE_CALL", "VIDEO_CALL"), (60, 35, 5))[0]
        org = rng.choice(vocab.VISITOR_ORGS)
        notes = (
            vocab.CARE_NOTES[3] if outcome == "NOT_REACHED" else rng.choice(vocab.CARE_NOTES[:3])
        )
        visits.append(CareVisit("", person.id_number, kind, outcome, org, notes, at))
    return visits


def _working_time(moment: datetime, rng: random.Random) -> datetime:
    """The same day during office hours, China time."""
    clock = time(rng.randint(8, 16), rng.randint(0, 59))
    return datetime.combine(moment.astimezone(CHINA).date(), clock, tzinfo=CHINA)
