"""Bench results: every figure beside its limit from the same run, as a table and as JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Detail = dict[str, float | int | str]


@dataclass(frozen=True)
class Target:
    """What issue 7 asks of a figure: its ratio to the limit, or its own value, vs a bound."""

    bound: float
    on: str = "ratio"  # "ratio" (figure / limit at least bound) or "value" (below bound)

    def met(self, figure: Figure) -> bool:
        """Whether ``figure`` meets the target (a miss is a finding, never a failure)."""
        if self.on == "ratio":
            return figure.ratio >= self.bound
        return figure.value < self.bound

    def label(self, unit: str) -> str:
        """``>= 0.70x`` of the limit, or ``< 500 ms``."""
        return f">= {self.bound:.2f}x" if self.on == "ratio" else f"< {self.bound:g} {unit}"


@dataclass(frozen=True)
class Figure:
    """One measured figure and the limit it is compared with, measured alongside it."""

    name: str
    value: float
    limit_name: str
    limit: float
    unit: str  # "events/s", "ms" or "MiB"
    target: Target | None = None
    detail: Detail = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """``value / limit``: below 1 a rate is slower than its limit, above 1 a latency
        is slower and a memory figure larger."""
        return self.value / self.limit if self.limit else math.nan

    @property
    def met(self) -> bool | None:
        """Whether the issue's target is met, or None when the figure has no target."""
        return None if self.target is None else self.target.met(self)

    def as_json(self) -> dict[str, Any]:
        """The figure with its ratio and target outcome, for ``bench.json``."""
        data = asdict(self)
        data["ratio"] = self.ratio
        data["target"] = None if self.target is None else self.target.label(self.unit)
        data["target_met"] = self.met
        return data


@dataclass
class BenchReport:
    """Everything one bench run measured, and what it could not measure."""

    quick: bool
    scale: float
    started: str
    machine: Detail
    sizes: Detail
    figures: list[Figure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Figures that wait for a feature of another issue: what each needs, and where.
    waiting: list[str] = field(default_factory=list)
    steps: Detail = field(default_factory=dict)  # seconds each step of the run took
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The report as written to ``bench.json``."""
        data = asdict(self)
        data["figures"] = [f.as_json() for f in self.figures]
        return data

    def write(self, path: Path) -> None:
        """Write the JSON report to ``path`` (its folder is created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.as_json(), ensure_ascii=False, indent=2, default=str)
        path.write_text(text + "\n", encoding="utf-8")


def _amount(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit in ("ms", "MiB"):
        return f"{value:,.1f} {unit}"
    return f"{value:,.0f} {unit}"


def render_table(report: BenchReport) -> str:
    """The report as a plain-text table: figure, value, limit, ratio and target."""
    header = ("figure", "value", "limit", "limit value", "ratio", "target")
    rows = [header]
    for f in report.figures:
        outcome = "" if f.met is None else ("met" if f.met else "MISSED")
        target = "" if f.target is None else f"{f.target.label(f.unit)} {outcome}"
        rows.append(
            (
                f.name,
                _amount(f.value, f.unit),
                f.limit_name,
                _amount(f.limit, f.unit),
                f"{f.ratio:.2f}",
                target,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {1, 3, 4}
    lines = [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    mode = "quick" if report.quick else "full"
    sizes = ", ".join(f"{k} {v}" for k, v in report.sizes.items())
    load = f"load {report.machine.get('load average at start')}->"
    load += f"{report.machine.get('load average at end')}"
    title = f"datong bench ({mode}; {sizes}) in {report.seconds:.0f} s, {load}"
    notes = [f"could not measure: {e}" for e in report.errors]
    notes += [f"waiting: {w}" for w in report.waiting]
    return "\n".join([title, *lines, *notes])
