"""The bench runs end to end and reports every figure beside its limit (speeds are not judged)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import pytest

from services.bench.context import Sizes
from services.bench.markdown import render_markdown
from services.bench.report import NOT_MEASURED, render_table
from services.bench.run import run_bench
from tests.support.holiday_calendar import holiday_calendar_env
from tests.support.machine import POSTGRES_URL

pytestmark = pytest.mark.integration

# The quick run's sizes shrunk tenfold, with one latency load: the code path of each
# load is the same, and every worker start costs this test seconds.
TINY = dataclasses.replace(Sizes.of(quick=True, scale=0.1), latency_rates=(1_000.0,))
# Figures named by the rate their load reached read "at N/s reached" here.
FIGURES = {
    "connector publish rate (CSV -> Avro -> Kafka)": 2,  # vs kafka-python and confluent-kafka
    "merge rate per worker (PostgreSQL)": 2,  # vs the bare faust agent and raw aiokafka
    "merge rate per worker (SQLite)": 2,
    "peak memory: merge worker (PostgreSQL)": 2,  # vs the same two consumer processes
    "peak memory: merge worker (SQLite)": 2,
    "peak memory: connector (datong connector run)": 1,  # vs a raw producer process
    # vs raw aiokafka at two fetch waits, paced at the rate the run reached
    "event-to-view latency at N/s reached (PostgreSQL) p50": 2,
    "event-to-view latency at N/s reached (PostgreSQL) p99": 2,
    "event-to-view latency at N/s reached (PostgreSQL) max": 2,
    "event-to-view latency at N/s reached (SQLite) p50": 2,
    "event-to-view latency at N/s reached (SQLite) p99": 2,
    "event-to-view latency at N/s reached (SQLite) max": 2,
    "event-to-SSE latency at N/s reached p50": 2,  # vs the same events' view and view topic
    "event-to-SSE latency at N/s reached p99": 2,
    "event-to-SSE latency at N/s reached max": 2,
    "view query latency, 50 readers p50": 2,  # vs /healthz and the raw SQL lookup
    "view query latency, 50 readers p99": 2,
    "peak memory: API (datong api)": 1,  # vs itself at rest
    "merge rate with 1,000 residents in the view (PostgreSQL)": 1,  # vs the bare faust agent
    "merge rate with 10,000 residents in the view (PostgreSQL)": 2,  # and vs 1,000 residents
    # held to 0 by design: no limit measured beside them
    "two workers, PostgreSQL: serialization retries in steady state": 1,
    "published outbox rows kept after draining (PostgreSQL)": 1,
}
HELD_TO_ZERO = {
    "two workers, PostgreSQL: serialization retries in steady state",
    "published outbox rows kept after draining (PostgreSQL)",
}


def generic(name: str) -> str:
    return re.sub(r"at [\d,]+/s reached", "at N/s reached", name)


def test_a_tiny_bench_reports_every_figure_with_a_positive_value_beside_its_limit(
    tmp_path: Path,
) -> None:
    out = tmp_path / "var" / "bench.json"
    # Only in a year the installed chinese-calendar does not cover: a test calendar file.
    calendar = holiday_calendar_env(tmp_path).get("DATONG_HOLIDAY_CALENDAR")
    report = run_bench(
        True,
        out,
        postgres_url=POSTGRES_URL,
        sizes=TINY,
        holiday_calendar=Path(calendar) if calendar else None,
    )

    assert report.errors == []
    counts: dict[str, int] = {}
    for figure in report.figures:
        name = generic(figure.name)
        counts[name] = counts.get(name, 0) + 1
        if name in HELD_TO_ZERO:
            assert figure.limit == 0 and (figure.value >= 0 or NOT_MEASURED in figure.detail)
            continue
        assert figure.value > 0 and figure.limit > 0, figure
        assert figure.limit_name and math.isfinite(figure.ratio), figure
    assert counts == FIGURES
    assert report.waiting == []
    reached = [f for f in report.figures if "reached" in f.name]
    assert all(f.reached and f.detail["offered_per_s"] == 1_000.0 for f in reached)

    written = json.loads(out.read_text(encoding="utf-8"))
    assert len(written["figures"]) == len(report.figures)
    assert all(f["ratio"] > 0 and f["limit"] > 0 for f in written["figures"] if f["limit"])
    table = render_table(report)
    assert all(figure.name in table for figure in report.figures)
    # One row per figure, below the header and its rule.
    assert render_markdown(written).count("\n| ") == len(report.figures) + 2
