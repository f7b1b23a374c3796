"""Bench results: every figure beside its limit from the same run, as a table and as JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Detail = dict[str, float | int | str]

# A load counts as reached at this share of the rate it is stated at: a paced sender that
# is on time measures within a percent of it, so 5% below is a sender that fell behind.
LOAD_REACHED = 0.95

# How a target compares a figure: its ratio to the limit, or its own value, with a bound.
RATIO = "ratio"  # value / limit >= bound
BELOW = "below"  # value < bound
AT_MOST = "at most"  # value <= bound
OVER_LIMIT = "over limit"  # value <= limit + bound

# What a figure's verdict can be; "" when it has no target and lost nothing.
MET, MISSED, FAILED, NOT_MEASURED = "met", "MISSED", "FAILED", "not measured"


@dataclass(frozen=True)
class Target:
    """What the issue asks of a figure, and at which reached load (events/s) if any."""

    bound: float
    on: str = RATIO
    load: float | None = None

    def holds(self, value: float, limit: float) -> bool:
        """Whether ``value`` (beside ``limit``) is within the bound."""
        if self.on == RATIO:
            return bool(limit) and value / limit >= self.bound
        if self.on == BELOW:
            return value < self.bound
        if self.on == AT_MOST:
            return value <= self.bound
        if self.on == OVER_LIMIT:
            return value <= limit + self.bound
        raise ValueError(f"unknown target comparison {self.on!r}")

    def label(self, unit: str) -> str:
        """``>= 0.70x``, ``< 500 ms at 1,000/s``, ``= 0 rows``, ``<= limit + 100 ms``."""
        if self.on == RATIO:
            text = f">= {self.bound:.2f}x"
        elif self.on == BELOW:
            text = f"< {self.bound:g} {unit}"
        elif self.on == AT_MOST:
            text = f"= 0 {unit}" if self.bound == 0 else f"<= {self.bound:g} {unit}"
        else:
            text = f"<= limit + {self.bound:g} {unit}"
        return text if self.load is None else f"{text} at {self.load:,.0f}/s"


@dataclass(frozen=True)
class Verdict:
    """A figure's outcome (``MET``, ``MISSED``, ``FAILED``, ``NOT_MEASURED`` or "") and why."""

    outcome: str
    reason: str = ""


@dataclass(frozen=True)
class Figure:
    """One measured figure and the limit it is compared with, measured alongside it."""

    name: str
    value: float  # nan when it could not be measured (``detail["not measured"]`` says why)
    limit_name: str
    limit: float
    unit: str  # "events/s", "ms", "MiB", "rows", "retries"
    target: Target | None = None
    detail: Detail = field(default_factory=dict)
    lost: int = 0  # events the figure waited for in vain (each in it as the run's timeout)
    reached: float | None = None  # the load the run reached, events/s, for a target's load

    @property
    def ratio(self) -> float:
        """``value / limit``: below 1 a rate is slower than its limit, above 1 a latency
        is slower and a memory figure larger; nan beside a limit of 0."""
        return self.value / self.limit if self.limit else math.nan

    @property
    def verdict(self) -> Verdict:
        """Met or missed against the target; failed whatever the target when an event was
        lost; not measured when the value could not be taken."""
        if math.isnan(self.value):
            return Verdict(NOT_MEASURED, str(self.detail.get(NOT_MEASURED, "")))
        if self.lost:
            return Verdict(MISSED if self.target else FAILED, f"{self.lost:,} never arrived")
        if self.target is None:
            return Verdict("")
        load = self.target.load
        if load is not None and (self.reached is None or self.reached < LOAD_REACHED * load):
            reached = "no load" if self.reached is None else f"{self.reached:,.0f}/s"
            return Verdict(MISSED, f"reached {reached} of {load:,.0f}/s")
        return Verdict(MET if self.target.holds(self.value, self.limit) else MISSED)

    @property
    def met(self) -> bool | None:
        """Whether the issue's target is met, or None when the figure has no target."""
        return None if self.target is None else self.verdict.outcome == MET

    def as_json(self) -> dict[str, Any]:
        """The figure with its ratio and verdict, for ``bench.json``."""
        data = asdict(self)
        verdict = self.verdict
        data["ratio"] = self.ratio
        data["target"] = None if self.target is None else self.target.label(self.unit)
        data["target_met"] = self.met
        data["verdict"] = verdict.outcome
        data["verdict_reason"] = verdict.reason
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
        """The report as written to ``bench.json`` (what ``markdown.py`` renders)."""
        data = asdict(self)
        data["figures"] = [f.as_json() for f in self.figures]
        return data

    def write(self, path: Path) -> None:
        """Write the JSON report to ``path`` (its folder is created)."""
        write_json(path, self.as_json())


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a report as strict JSON: a value not measured (nan) is ``null``, which other
    tools read, where Python's ``NaN`` is not JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(data), ensure_ascii=False, indent=2, default=str, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def amount(value: float, unit: str) -> str:
    """``value`` in ``unit`` as the tables show it (``n/a`` for nan)."""
    if math.isnan(value):
        return "n/a"
    if unit in ("ms", "MiB"):
        return f"{value:,.1f} {unit}"
    return f"{value:,.0f} {unit}"


def outcome_text(target: str | None, outcome: str, reason: str) -> str:
    """The target column: ``< 500 ms at 1,000/s MISSED (reached 812/s of 1,000/s)``."""
    text = " ".join(part for part in (target or "", outcome) if part)
    return f"{text} ({reason})" if reason else text


def render_table(report: BenchReport) -> str:
    """The report as a plain-text table: figure, value, limit, ratio and target."""
    header = ("figure", "value", "limit", "limit value", "ratio", "target")
    rows = [header]
    for f in report.figures:
        verdict = f.verdict
        target = None if f.target is None else f.target.label(f.unit)
        rows.append(
            (
                f.name,
                amount(f.value, f.unit),
                f.limit_name,
                amount(f.limit, f.unit),
                "n/a" if math.isnan(f.ratio) else f"{f.ratio:.2f}",
                outcome_text(target, verdict.outcome, verdict.reason),
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
