"""The demo community's people and homes: a pure, seeded function of (communities, residents, seed).

Households are drawn by kind (elderly living alone, elderly couples, three generations, ...),
so the age pyramid of an old residential community emerges from the families in it, with
about a third of residents over 60. Every random choice comes from a generator seeded with
the arguments, and nothing reads the clock: the same arguments give the same community.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from connectors.dates import CHINA
from connectors.demo import vocab
from connectors.demo.activity import build_activity, rng_for
from connectors.demo.housing import build_communities, build_dwellings, grid_ids
from connectors.demo.model import (
    ELDERLY_AGE,
    Community,
    Dwelling,
    Household,
    Population,
    Resident,
)
from connectors.identity import check_digit

# The moment the demo exports were taken; fixed so that the output never depends on the clock.
AS_OF = datetime(2024, 6, 3, 9, 0, tzinfo=CHINA)
VACANCY = 0.06  # share of dwellings with nobody registered in them

# Household kinds and their weights in an old community (per hundred households).
KINDS: tuple[tuple[str, int], ...] = (
    ("独居老人", 12), ("老年夫妇", 17), ("三口之家", 22), ("三代同堂", 11), ("夫妻", 11),
    ("单身", 10), ("老人与子女", 10), ("四口之家", 7),
)  # fmt: skip

Member = tuple[str, int, str | None]  # relation, age in years, gender (None: random)


def build_population(
    communities: int, residents: int, seed: int, as_of: datetime = AS_OF
) -> Population:
    """The demo population: ``residents`` people spread over ``communities`` communities."""
    if communities < 1:
        raise ValueError("communities must be at least 1")
    if residents < communities:
        raise ValueError("residents must be at least the number of communities")
    rng = rng_for(seed, "people")
    places = build_communities(communities, rng_for(seed, "communities"))
    people = _People(rng, as_of)
    dwellings: list[Dwelling] = []
    households: list[Household] = []
    for index, place in enumerate(places):
        count = residents // communities + (1 if index < residents % communities else 0)
        plans = _household_plans(count, rng)
        homes = build_dwellings(place, math.ceil(len(plans) * (1 + VACANCY)), rng)
        community = places[index] = replace(place, grid_ids=grid_ids(homes))
        dwellings.extend(homes)
        occupied = rng.sample(homes, len(plans))
        for (kind, plan), home in zip(plans, occupied, strict=True):
            households.append(people.household(kind, plan, home, community))
    return build_activity(
        seed=seed,
        as_of=as_of,
        communities=tuple(places),
        dwellings=tuple(dwellings),
        households=tuple(households),
        residents=tuple(people.residents),
    )


def _household_plans(count: int, rng: random.Random) -> list[tuple[str, list[Member]]]:
    """Households whose sizes add up to exactly ``count`` people (the last one is cut)."""
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    plans: list[tuple[str, list[Member]]] = []
    left = count
    while left > 0:
        kind = rng.choices(kinds, weights)[0]
        members = _members(kind, rng)[:left]
        plans.append((kind, members))
        left -= len(members)
    return plans


def _members(kind: str, rng: random.Random) -> list[Member]:
    """Relations, ages and genders of one household of ``kind``."""
    r = rng.randint
    if kind == "独居老人":
        return [("户主", r(65, 96), "FEMALE" if rng.random() < 0.68 else "MALE")]
    if kind == "单身":
        return [("户主", r(20, 59), None)]
    if kind == "老人与子女":
        old = r(60, 88)
        return [("户主", old, None), ("子女", r(max(18, old - 38), old - 22), None)]
    head = {"老年夫妇": r(60, 90), "夫妻": r(24, 59), "三代同堂": r(60, 84)}.get(kind, r(30, 50))
    couple = _couple(head, rng)
    if kind in ("老年夫妇", "夫妻"):
        return couple
    if kind == "三代同堂":
        child = r(max(25, head - 36), head - 24)
        return [
            *couple,
            ("子女", child, "MALE"),
            ("儿媳", max(22, child + r(-4, 3)), "FEMALE"),
            ("孙子女", r(0, min(17, child - 22)), None),
        ]
    young = min(age for _, age, _ in couple)
    kids = 2 if kind == "四口之家" else 1
    return [*couple, *[("子女", r(0, min(22, young - 22)), None) for _ in range(kids)]]


def _couple(head_age: int, rng: random.Random) -> list[Member]:
    husband_first = rng.random() < 0.8  # the booklet's head is usually the husband
    spouse_age = max(20, head_age + rng.randint(-5, 4))
    head_gender, spouse_gender = ("MALE", "FEMALE") if husband_first else ("FEMALE", "MALE")
    return [("户主", head_age, head_gender), ("配偶", spouse_age, spouse_gender)]


class _People:
    """Draws unique ID numbers and phones, names by birth cohort, and registry dates."""

    def __init__(self, rng: random.Random, as_of: datetime) -> None:
        self.rng = rng
        self.as_of = as_of
        self.residents: list[Resident] = []
        self._ids: set[str] = set()
        self._phones: set[str] = set()
        self._surnames = [s for s, _ in vocab.SURNAMES]
        self._surname_weights = list(itertools.accumulate(w for _, w in vocab.SURNAMES))

    def household(
        self, kind: str, plan: list[Member], home: Dwelling, community: Community
    ) -> Household:
        """Register a household of ``kind`` with the members of ``plan`` in ``home``."""
        rng = self.rng
        household_no = f"{community.code[:6]}{len(self.residents) + 1:09d}"
        head_age = plan[0][1]
        earliest = max(date(1985, 1, 1), self.as_of.date() - timedelta(days=(head_age - 18) * 365))
        span = (self.as_of.date() - timedelta(days=60) - earliest).days
        moved_in = earliest + timedelta(days=rng.randint(0, max(0, span)))
        names = self._family_names(plan)
        members: list[Resident] = []
        for (relation, age, gender), surname in zip(plan, names, strict=True):
            sex = gender or rng.choice(("MALE", "FEMALE"))
            born = self.as_of.date() - timedelta(days=age * 365 + rng.randint(1, 364))
            member = self._resident(
                relation, sex, born, surname=surname, moved_in=moved_in, community=community
            )
            members.append(_placed(member, household_no, home, alone=len(plan) == 1))
        self.residents.extend(members)
        return Household(
            household_no,
            home.dwelling_id,
            community.code,
            kind,
            tuple(m.id_number for m in members),
        )

    def _family_names(self, plan: list[Member]) -> list[str]:
        """Surnames: spouses keep their own, children take the father's."""
        pick = self.rng.choices
        names = pick(self._surnames, cum_weights=self._surname_weights, k=len(plan))
        father = next(
            (
                n
                for (rel, _, g), n in zip(plan, names, strict=True)
                if g == "MALE" and rel != "子女"
            ),
            names[0],
        )
        son = next((n for (rel, _, g), n in zip(plan, names, strict=True) if rel == "子女"), father)
        for i, (relation, _, _) in enumerate(plan):
            if relation == "子女":
                names[i] = father
            elif relation == "孙子女":
                names[i] = son
        return names

    def _resident(
        self,
        relation: str,
        gender: str,
        born: date,
        *,
        surname: str,
        moved_in: date,
        community: Community,
    ) -> Resident:
        rng = self.rng
        age = (self.as_of.date() - born).days // 365
        male, female = vocab.GIVEN[vocab.cohort(born.year)]
        chars = male if gender == "MALE" else female
        given = "".join(rng.choice(chars) for _ in range(1 if rng.random() < 0.3 else 2))
        # Registered a month after birth, but never after the exports were taken (a baby
        # born last week is registered by now, or its registration would be in the future).
        since = min(max(moved_in, born + timedelta(days=30)), self.as_of.date() - timedelta(days=1))
        at = datetime.combine(since, time(rng.randint(8, 16), rng.randint(0, 59)), tzinfo=CHINA)
        local = born >= moved_in or rng.random() < 0.6
        return Resident(
            id_number=self._id_number(community.code[:6] if local else None, born, gender),
            name=surname + given,
            gender=gender,
            birth_date=born,
            phone=self._phone(age),
            household_no="",
            relation=relation,
            dwelling_id="",
            community_code=community.code,
            registered_at=at,
            disability_grade=_disability(age, rng),
            subsistence_allowance=rng.random() < (0.06 if age >= ELDERLY_AGE else 0.02),
            living_alone=False,
        )

    def _id_number(self, region: str | None, born: date, gender: str) -> str:
        rng = self.rng
        while True:
            area = region or rng.choice(vocab.BIRTH_REGIONS)
            sex_digit = rng.choice("13579" if gender == "MALE" else "02468")
            first17 = f"{area}{born:%Y%m%d}{rng.randint(0, 99):02d}{sex_digit}"
            number = first17 + check_digit(first17)
            if number not in self._ids:
                self._ids.add(number)
                return number

    def _phone(self, age: int) -> str | None:
        rng = self.rng
        if age < 14 or rng.random() > (0.65 if age >= 80 else 0.93):
            return None
        while True:
            phone = f"{rng.choice(vocab.MOBILE_PREFIXES)}{rng.randint(0, 99_999_999):08d}"
            if phone not in self._phones:
                self._phones.add(phone)
                return phone


def _placed(resident: Resident, household_no: str, home: Dwelling, alone: bool) -> Resident:
    return replace(
        resident, household_no=household_no, dwelling_id=home.dwelling_id, living_alone=alone
    )


def _disability(age: int, rng: random.Random) -> str:
    """About 6% of people hold a disability certificate, far more among the very old."""
    share = 0.03 if age < ELDERLY_AGE else 0.08 if age < 80 else 0.18
    if rng.random() >= share:
        return "NONE"
    return rng.choices(("GRADE_1", "GRADE_2", "GRADE_3", "GRADE_4"), (15, 25, 30, 30))[0]
