"""Old-community renovation projects (housing) and the grid office's reports and tasks."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta

from connectors.dates import CHINA
from connectors.demo import vocab
from connectors.demo.model import (
    Community,
    Dwelling,
    GridReport,
    GridTask,
    RenovationReport,
    Resident,
)

STAGES = ("PLANNED", "DESIGN", "TENDERING", "CONSTRUCTION", "ACCEPTANCE", "COMPLETED")
# Percent complete reported at each stage (construction is reported twice, early and late).
PERCENTS = {"PLANNED": (0, 0), "DESIGN": (5, 12), "TENDERING": (15, 22),
            "CONSTRUCTION": (30, 90), "ACCEPTANCE": (94, 98), "COMPLETED": (100, 100)}  # fmt: skip
REPORT_DAYS = 7


def build_renovations(
    communities: Sequence[Community],
    dwellings: Sequence[Dwelling],
    as_of: datetime,
    rng: random.Random,
) -> list[RenovationReport]:
    """Progress reports of one or two projects per community over walk-ups built before 2000."""
    reports = []
    for community in communities:
        old = list(
            dict.fromkeys(
                d.building
                for d in dwellings
                if d.community_code == community.code and d.built_year < 2000
            )
        )
        if not old:
            continue
        for number in range(1, 1 + min(len(old), 1 + (len(old) > 6))):
            buildings = tuple(sorted(rng.sample(old, rng.randint(1, min(len(old), 8))), key=int))
            project = f"GZ{as_of.year - 1}{community.code[-6:]}{number:02d}"
            works = "、".join(rng.sample(vocab.RENOVATION_WORKS, rng.randint(2, 4)))
            budget = len(buildings) * rng.randint(80, 300) * 1_000_000  # 0.8-3 million yuan each
            reached = rng.randint(0, len(STAGES) - 1)
            at = as_of - timedelta(days=rng.randint(300, 540))
            for stage in STAGES[: reached + 1]:
                for low, high in _reports(stage):
                    at = _office(
                        at + timedelta(days=rng.randint(20, 60 // (reached + 1) + 20)), rng
                    )
                    if at >= as_of:
                        break
                    percent = rng.randint(low, high)
                    reports.append(
                        RenovationReport(
                            project, community.code, buildings, stage, percent, works, budget, at
                        )
                    )
    reports.sort(key=lambda r: (r.at, r.project_id))
    return reports


def _reports(stage: str) -> list[tuple[int, int]]:
    low, high = PERCENTS[stage]
    if stage == "CONSTRUCTION":
        return [(low, (low + high) // 2), ((low + high) // 2 + 1, high)]
    return [(low, high)]


def build_grid(
    communities: Sequence[Community],
    dwellings: Sequence[Dwelling],
    elderly_alone: Sequence[Resident],
    as_of: datetime,
    rng: random.Random,
) -> tuple[list[GridReport], list[GridTask]]:
    """Daily rounds and incidents of every grid, visits to the elderly, and follow-up tasks."""
    homes_by_grid: dict[str, list[Dwelling]] = {}
    for home in dwellings:
        homes_by_grid.setdefault(home.grid_id, []).append(home)
    reports: list[GridReport] = []
    for community in communities:
        for grid in community.grid_ids:
            reports.extend(_rounds(community.code, grid, homes_by_grid[grid], as_of, rng))
    grid_of = {d.dwelling_id: d.grid_id for d in dwellings}
    for person in elderly_alone:
        grid = grid_of[person.dwelling_id]
        reports.append(
            GridReport(
                report_id="",
                community_code=person.community_code,
                grid_id=grid,
                kind="VISIT",
                dwelling_id=person.dwelling_id,
                id_number=person.id_number,
                summary=vocab.GRID_VISITS[0],
                follow_up=False,
                reporter=f"{grid}-01",
                at=_office(as_of - timedelta(days=rng.randint(1, REPORT_DAYS)), rng),
            )
        )
    reports.sort(key=lambda r: (r.at, r.grid_id))
    numbered = [
        replace(r, report_id=f"SJ{r.at:%Y%m%d}{i:06d}") for i, r in enumerate(reports, start=1)
    ]
    return numbered, _tasks(numbered, as_of, rng)


def _rounds(
    community: str, grid: str, homes: list[Dwelling], as_of: datetime, rng: random.Random
) -> list[GridReport]:
    """A grid worker's week: one round a day, and now and then an incident at a home."""
    worker = f"{grid}-{rng.randint(1, 3):02d}"
    reports = []
    for day in range(REPORT_DAYS, 0, -1):
        at = _office(as_of - timedelta(days=day), rng)
        summary = rng.choice(vocab.GRID_INSPECTIONS)
        reports.append(
            GridReport("", community, grid, "INSPECTION", None, None, summary, False, worker, at)
        )
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            home = rng.choice(homes).dwelling_id
            incident = rng.choice(vocab.GRID_INCIDENTS)
            follow_up = rng.random() < 0.6
            at = _office(at, rng)
            reports.append(
                GridReport(
                    "", community, grid, "INCIDENT", home, None, incident, follow_up, worker, at
                )
            )
    return reports


def _tasks(reports: Sequence[GridReport], as_of: datetime, rng: random.Random) -> list[GridTask]:
    tasks: list[GridTask] = []
    for report in reports:
        if not report.follow_up:
            continue
        assigned = report.at + timedelta(minutes=rng.randint(10, 120))
        completed = assigned + timedelta(hours=rng.randint(2, 60))
        done = completed < as_of and rng.random() < 0.8
        tasks.append(
            GridTask(
                task_id=f"RW{assigned:%Y%m%d}{len(tasks) + 1:06d}",
                community_code=report.community_code,
                grid_id=report.grid_id,
                kind="SERVICE",
                dwelling_id=report.dwelling_id,
                id_number=None,
                assignee=report.reporter,
                summary=f"处置：{report.summary}",
                assigned_at=assigned,
                due_at=assigned + timedelta(hours=48),
                completed_at=completed if done else None,
                outcome=rng.choices(("DONE", "UNABLE_TO_COMPLETE"), (9, 1))[0] if done else None,
            )
        )
    return tasks


def _office(moment: datetime, rng: random.Random) -> datetime:
    """A time during office hours on the day of ``moment`` (China time)."""
    clock = time(rng.randint(8, 17), rng.randint(0, 59))
    return datetime.combine(moment.astimezone(CHINA).date(), clock, tzinfo=CHINA)
