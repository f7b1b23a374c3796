"""What a generated demo contains, so tests and operators can check outcomes exactly.

The manifest holds counts and file names only, never an ID number, name or phone number.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.demo.dirt import PARKED
from connectors.demo.model import ELDERLY_AGE, Population, age_of
from connectors.demo.table import Table

WELFARE_SILENCE = timedelta(hours=24)


@dataclass(frozen=True)
class FileCounts:
    """One export file: its rows, the dirty ones by reason, and the events its clean rows make."""

    path: str  # relative to the demo folder, e.g. "health/健康码状态变更_20240603.csv"
    department: str
    export: str
    format: str  # csv or xlsx
    encoding: str | None  # gb18030, utf-8, utf-8-sig; None for xlsx
    rows: int
    dirty: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)

    @property
    def parked(self) -> int:
        """Rows held in the resolution queue (their address names no dwelling)."""
        return sum(n for reason, n in self.dirty.items() if reason in PARKED)

    @property
    def rejected(self) -> int:
        """Rows that end as dead letters."""
        return sum(n for reason, n in self.dirty.items() if reason not in PARKED)

    @property
    def published(self) -> int:
        """Rows published as events (every clean row)."""
        return self.rows - sum(self.dirty.values())

    @classmethod
    def of(cls, table: Table, path: str) -> FileCounts:
        """Count a soiled table written at ``path``."""
        return cls(
            path=path,
            department=table.department,
            export=table.export,
            format=table.form[0],
            encoding=table.form[1],
            rows=len(table.rows),
            dirty=dict(sorted(Counter(r.dirt for r in table.rows if r.dirt).items())),
            events=dict(sorted(Counter(r.event for r in table.rows if not r.dirt).items())),
        )


@dataclass(frozen=True)
class Manifest:
    """The arguments of a demo, its population's headline counts, and every file's counts."""

    seed: int
    communities: int
    residents: int
    as_of: str
    population: dict[str, int]
    files: tuple[FileCounts, ...]

    def for_department(self, department: str) -> tuple[FileCounts, ...]:
        """The files of one department, in the order a drop folder takes them."""
        return tuple(f for f in self.files if f.department == department)

    @property
    def departments(self) -> tuple[str, ...]:
        """Departments with at least one file, in generation order."""
        return tuple(dict.fromkeys(f.department for f in self.files))

    def dirty(self) -> dict[str, int]:
        """Dirty rows by reason over all files."""
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.dirty)
        return dict(sorted(total.items()))

    def to_json(self) -> str:
        """The manifest as pretty, stable JSON (sorted keys, Chinese kept readable)."""
        body: dict[str, Any] = {
            "seed": self.seed,
            "communities": self.communities,
            "residents": self.residents,
            "as_of": self.as_of,
            "population": self.population,
            "dirty": self.dirty(),
            "files": [
                {
                    **f.__dict__,
                    "published": f.published,
                    "rejected": f.rejected,
                    "parked": f.parked,
                }
                for f in self.files
            ],
        }
        return json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read a ``manifest.json`` written by ``generate``."""
        body = json.loads(path.read_text(encoding="utf-8"))
        derived = ("published", "rejected", "parked")
        files = tuple(
            FileCounts(**{k: v for k, v in f.items() if k not in derived}) for f in body["files"]
        )
        return cls(
            body["seed"],
            body["communities"],
            body["residents"],
            body["as_of"],
            body["population"],
            files,
        )


def headline(pop: Population) -> dict[str, int]:
    """The counts a dashboard of the demo community should end up showing."""
    open_orders = [q for q in pop.quarantines if q.lifted_at is None]
    homes = {d.dwelling_id: d for d in pop.dwellings}
    elderly = [r for r in pop.residents if age_of(r.birth_date, pop.as_of) >= ELDERLY_AGE]
    alone = {r.dwelling_id for r in elderly if r.living_alone}
    last_use = _last_water_use(pop)
    return {
        "communities": len(pop.communities),
        "dwellings": len(pop.dwellings),
        "households": len(pop.households),
        "residents": len(pop.residents),
        "elderly": len(elderly),
        "elderly_living_alone": len(alone),
        "elderly_alone_without_water_24h": sum(
            1 for d in alone if pop.as_of - last_use.get(d, pop.as_of) > WELFARE_SILENCE
        ),
        "disabled": sum(1 for r in pop.residents if r.disability_grade != "NONE"),
        "subsistence_allowance": sum(1 for r in pop.residents if r.subsistence_allowance),
        "quarantine_orders": len(pop.quarantines),
        "quarantine_orders_open": len(open_orders),
        "quarantined_dwellings_open": len({q.dwelling_id for q in open_orders if q.dwelling_id}),
        "quarantined_dwellings_without_bathroom": len(
            {
                q.dwelling_id
                for q in pop.quarantines
                if q.dwelling_id and not homes[q.dwelling_id].has_separate_bathroom
            }
        ),
        "meter_readings": len(pop.readings),
        "deliveries": len(pop.deliveries),
        "deliveries_unfulfilled": sum(1 for d in pop.deliveries if d.fulfilled_at is None),
        "quarantine_deliveries_overdue": sum(
            1
            for d in pop.deliveries
            if d.for_quarantine and d.fulfilled_at is None and d.due_at < pop.as_of
        ),
        "renovation_projects": len({r.project_id for r in pop.renovations}),
        "grid_reports": len(pop.grid_reports),
        "grid_tasks": len(pop.grid_tasks),
    }


def _last_water_use(pop: Population) -> dict[str, datetime]:
    """When each dwelling's water register last went up (readings are in time order)."""
    last_value: dict[str, float] = {}
    last_use: dict[str, datetime] = {}
    for r in pop.readings:
        if r.kind != "WATER":
            continue
        previous = last_value.get(r.dwelling_id)
        if previous is None or r.value > previous:
            last_use[r.dwelling_id] = r.read_at
        last_value[r.dwelling_id] = r.value
    return last_use
