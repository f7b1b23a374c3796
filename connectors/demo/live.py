"""The demo community going on after its exports: each department's next event, as pushed.

``LiveFeed(population, rng, run).tick(now)`` gives one event per sending department, in the
JSON a department's system posts to ``POST /ingest/{department}/{event}``: health status
changes and home quarantines (ordered, then lifted), deliveries (requested, then
fulfilled), water meter readings that keep counting up from the exports' last values, grid
inspections and care visits, and once a minute a renovation project's progress. Everything
is about the population's own people and homes, and what was sent before (a lift names an
order it sent, a fulfilment a request, a progress report its project's last one).

Residents are named by their ``id_number``, as a department's system knows them: the HTTP
intake checks the digit and turns it into ``person_key`` at the door. No name or phone is
sent. Pure: the caller gives the clock and the random generator, so a test can replay it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from connectors.demo import vocab
from connectors.demo.model import Population
from connectors.demo.works import PERCENTS, STAGES

EVERY_ROUND = ("health", "commerce", "utilities", "grid", "civil-affairs")
DEPARTMENTS = (*EVERY_ROUND, "housing")  # every department the feed sends for
RENOVATION_EVERY = 60  # rounds between two renovation progress reports (one a minute)
QUARANTINE_DAYS = 7
OPEN_QUARANTINES = 6  # lift the oldest one the feed ordered beyond this many
OPEN_DELIVERIES = 8  # fulfil the oldest request beyond this many
UNWELL_SHARE = 2  # percent of residents whose code is yellow or red, about which it moves
UNWELL_FLOOR = 5
WATER_STEP_M3 = (0.005, 0.08)  # what one reading adds to the meter's running total
# (from, to, weight): mostly yellow codes coming and going, now and then a red one.
STATUS_STEPS = (
    ("GREEN", "YELLOW", 8), ("YELLOW", "GREEN", 8), ("GREEN", "RED", 1),
    ("YELLOW", "RED", 1), ("RED", "YELLOW", 3), ("RED", "GREEN", 2),
)  # fmt: skip
REASONS = {"YELLOW": "时空伴随 contact", "RED": "核酸阳性 positive test", "GREEN": "解除 cleared"}
VISIT_KINDS = ("PHONE_CALL", "HOME_VISIT", "VIDEO_CALL")
VISIT_OUTCOMES = (("WELL", 10), ("NEEDS_FOLLOW_UP", 2), ("NOT_REACHED", 1))


@dataclass(frozen=True)
class LiveEvent:
    """One event to push: its department, event name (kebab case) and JSON body."""

    department: str
    event: str
    body: dict[str, Any]

    @property
    def path(self) -> str:
        """Where it is posted, below the API's address."""
        return f"/ingest/{self.department}/{self.event}"


@dataclass
class _Order:
    order_id: str
    id_number: str
    dwelling_id: str


@dataclass
class LiveFeed:
    """The next events of every sending department; ``run`` tells this run's ids apart."""

    population: Population
    rng: random.Random
    run: str
    _count: int = 0
    _status: dict[str, str] = field(default_factory=dict)
    _meters: dict[str, tuple[str, float]] = field(default_factory=dict)
    _quarantines: list[_Order] = field(default_factory=list)
    _deliveries: list[_Order] = field(default_factory=list)
    _rounds: int = 0

    def __post_init__(self) -> None:
        pop = self.population
        for change in sorted(pop.health_statuses, key=lambda s: s.at):
            self._status[change.id_number] = change.status
        for reading in sorted(pop.readings, key=lambda r: r.read_at):
            if reading.kind == "WATER":
                self._meters[reading.meter_id] = (reading.dwelling_id, reading.value)
        self._residents = sorted(r.id_number for r in pop.residents)
        self._unwell_level = max(UNWELL_FLOOR, len(self._residents) * UNWELL_SHARE // 100)
        self._households = sorted(pop.households, key=lambda h: h.household_no)
        self._cared = sorted(a.id_number for a in pop.assessments if a.elderly_living_alone)
        self._grids = sorted((c.code, g) for c in pop.communities for g in c.grid_ids)
        self._stores = {c.code: c.store_codes for c in pop.communities}
        self._community_of = {h.dwelling_id: h.community_code for h in pop.households}
        latest = {r.project_id: r for r in sorted(pop.renovations, key=lambda r: r.at)}
        self._projects = [latest[p] for p in sorted(latest)]

    def tick(self, now: datetime) -> list[LiveEvent]:
        """One event of each department in ``EVERY_ROUND``, all happening at ``now``, and
        every ``RENOVATION_EVERY`` rounds (the first included) housing's, one per community
        with an unfinished project."""
        events = [
            self._health(now),
            self._commerce(now),
            self._utilities(now),
            self._grid(now),
            self._care(now),
        ]
        if self._rounds % RENOVATION_EVERY == 0:
            events += self._renovation(now)
        self._rounds += 1
        return events

    def _id(self, kind: str) -> str:
        self._count += 1
        return f"live-{self.run}-{kind}-{self._count}"

    def _health(self, now: datetime) -> LiveEvent:
        rng = self.rng
        if len(self._quarantines) > OPEN_QUARANTINES or (self._quarantines and rng.random() < 0.05):
            order = self._quarantines.pop(0)
            return LiveEvent(
                "health",
                "quarantine-lifted",
                {
                    **self._head("quarantine-lifted", now),
                    "id_number": order.id_number,
                    "quarantine_id": order.order_id,
                    "dwelling_id": order.dwelling_id,
                    "outcome": "COMPLETED",
                },
            )
        if rng.random() < 0.08:
            household = rng.choice(self._households)
            order = _Order(self._id("quarantine"), household.members[0], household.dwelling_id)
            self._quarantines.append(order)
            return LiveEvent(
                "health",
                "quarantine-ordered",
                {
                    **self._head("quarantine-ordered", now),
                    "id_number": order.id_number,
                    "quarantine_id": order.order_id,
                    "kind": "HOME",
                    "dwelling_id": order.dwelling_id,
                    "starts_at": _ms(now),
                    "planned_end_at": _ms(now + timedelta(days=QUARANTINE_DAYS)),
                    "reason": "密接 close contact",
                },
            )
        # Codes turn yellow and back at about the same pace, so the share of residents not
        # green stays near its level instead of drifting up over a day of feeding.
        unwell = sorted(p for p, s in self._status.items() if s != "GREEN")
        recovering = len(unwell) > self._unwell_level or (bool(unwell) and rng.random() < 0.5)
        person = rng.choice(unwell) if recovering else rng.choice(self._residents)
        current = self._status.get(person, "GREEN")
        steps = [(to, w) for frm, to, w in STATUS_STEPS if frm == current]
        status = rng.choices([to for to, _ in steps], [w for _, w in steps])[0]
        self._status[person] = status
        return LiveEvent(
            "health",
            "health-status-changed",
            {
                **self._head("health-status-changed", now),
                "id_number": person,
                "status": status,
                "reason": REASONS[status],
            },
        )

    def _commerce(self, now: datetime) -> LiveEvent:
        rng = self.rng
        if len(self._deliveries) > OPEN_DELIVERIES or (self._deliveries and rng.random() < 0.4):
            order = self._deliveries.pop(0)
            outcome = rng.choice(("DELIVERED", "LEFT_AT_DOOR"))
            return LiveEvent(
                "commerce",
                "delivery-fulfilled",
                {
                    **self._head("delivery-fulfilled", now),
                    "dwelling_id": order.dwelling_id,
                    "delivery_id": order.order_id,
                    "outcome": outcome,
                },
            )
        quarantined = [q.dwelling_id for q in self._quarantines]
        if quarantined and rng.random() < 0.5:
            home, for_quarantine = rng.choice(quarantined), True
        else:
            home, for_quarantine = rng.choice(self._households).dwelling_id, False
        order = _Order(self._id("delivery"), "", home)
        self._deliveries.append(order)
        community = self._community_of[home]
        return LiveEvent(
            "commerce",
            "delivery-requested",
            {
                **self._head("delivery-requested", now),
                "dwelling_id": home,
                "delivery_id": order.order_id,
                "items_summary": "、".join(rng.sample(vocab.DELIVERY_ITEMS, 2)),
                "for_quarantine": for_quarantine,
                "due_at": _ms(now + timedelta(hours=4)),
                "store_code": rng.choice(self._stores[community]),
                "amount_fen": rng.randint(20, 300) * 100,
            },
        )

    def _utilities(self, now: datetime) -> LiveEvent:
        meter = self.rng.choice(sorted(self._meters))
        home, value = self._meters[meter]
        value = round(value + self.rng.uniform(*WATER_STEP_M3), 3)
        self._meters[meter] = (home, value)
        return LiveEvent(
            "utilities",
            "meter-reading",
            {
                **self._head("meter-reading", now),
                "dwelling_id": home,
                "meter_id": meter,
                "kind": "WATER",
                "value": value,
                "unit": "CUBIC_METRE",
                "read_at": _ms(now),
            },
        )

    def _grid(self, now: datetime) -> LiveEvent:
        community, grid = self.rng.choice(self._grids)
        return LiveEvent(
            "grid",
            "grid-report-filed",
            {
                **self._head("grid-report-filed", now),
                "community_code": community,
                "report_id": self._id("report"),
                "grid_id": grid,
                "kind": "INSPECTION",
                "summary": self.rng.choice(vocab.GRID_INSPECTIONS),
                "follow_up_required": False,
            },
        )

    def _care(self, now: datetime) -> LiveEvent:
        rng = self.rng
        outcome = rng.choices([o for o, _ in VISIT_OUTCOMES], [w for _, w in VISIT_OUTCOMES])[0]
        return LiveEvent(
            "civil-affairs",
            "care-visit-logged",
            {
                **self._head("care-visit-logged", now),
                "id_number": rng.choice(self._cared or self._residents),
                "visit_id": self._id("visit"),
                "kind": rng.choice(VISIT_KINDS),
                "outcome": outcome,
                "visitor_org": "社区养老服务驿站",
            },
        )

    def _renovation(self, now: datetime) -> list[LiveEvent]:
        """In each community with an unfinished project, a point more of one's works (into
        its next stage at the top of its stage's range): every community's housing feed
        stays fresh."""
        events = []
        for community in sorted({r.community_code for r in self._projects}):
            unfinished = [
                i
                for i, r in enumerate(self._projects)
                if r.community_code == community and r.stage != "COMPLETED"
            ]
            if unfinished:
                events.append(self._progress(self.rng.choice(unfinished), now))
        return events

    def _progress(self, index: int, now: datetime) -> LiveEvent:
        report = self._projects[index]
        stage, percent = report.stage, report.percent + 1
        if percent > PERCENTS[stage][1]:
            stage = STAGES[STAGES.index(stage) + 1]
            percent = max(percent, PERCENTS[stage][0])
        self._projects[index] = replace(report, stage=stage, percent=percent, at=now)
        return LiveEvent("housing", "renovation-progress-reported", {
            **self._head("renovation-progress-reported", now),
            "community_code": report.community_code, "project_id": report.project_id,
            "buildings": list(report.buildings), "stage": stage, "percent": percent,
            "works": report.works, "budget_fen": report.budget_fen,
        })  # fmt: skip

    def _head(self, event: str, now: datetime) -> dict[str, Any]:
        return {"event_id": self._id(event), "event_time": _ms(now)}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
