"""The bench runs end to end and reports every figure beside its limit (speeds are not judged)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from services.bench.context import Sizes
from services.bench.report import render_table
from services.bench.run import run_bench
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.integration

# The quick run's sizes shrunk tenfold, with one latency load: the code path of each
# load is the same, and every worker start costs this test seconds.
TINY = dataclasses.replace(Sizes.of(quick=True, scale=0.1), latency_rates=(1_000.0,))
FIGURES = {
    "connector publish rate (CSV -> Avro -> Kafka)": 2,  # vs kafka-python and confluent-kafka
    "merge rate per worker (PostgreSQL)": 2,  # vs the bare faust agent and raw aiokafka
    "merge rate per worker (SQLite)": 2,
    "peak memory: merge worker (PostgreSQL)": 2,  # vs the same two consumer processes
    "peak memory: merge worker (SQLite)": 2,
    "peak memory: connector (datong connector run)": 1,  # vs a raw producer process
    "event-to-view latency at 1,000/s p50": 2,  # vs raw aiokafka at two fetch waits
    "event-to-view latency at 1,000/s p99": 2,
    "event-to-view latency at 1,000/s max": 2,
    "event-to-SSE latency at 1,000/s p50": 2,  # vs the same events' view and view topic
    "event-to-SSE latency at 1,000/s p99": 2,
    "event-to-SSE latency at 1,000/s max": 2,
    "view query latency, 50 readers p50": 2,  # vs /healthz and the raw SQL lookup
    "view query latency, 50 readers p99": 2,
    "peak memory: API (datong api)": 1,  # vs itself at rest
    "merge rate with 1,000 residents in the view (PostgreSQL)": 1,  # vs the bare faust agent
    "merge rate with 10,000 residents in the view (PostgreSQL)": 2,  # and vs 1,000 residents
}


def test_a_tiny_bench_reports_every_figure_with_a_positive_value_beside_its_limit(
    tmp_path: Path,
) -> None:
    out = tmp_path / "var" / "bench.json"
    report = run_bench(True, out, postgres_url=POSTGRES_URL, sizes=TINY)

    assert report.errors == []
    counts: dict[str, int] = {}
    for figure in report.figures:
        counts[figure.name] = counts.get(figure.name, 0) + 1
        assert figure.value > 0 and figure.limit > 0, figure
        assert figure.limit_name and math.isfinite(figure.ratio), figure
    assert counts == FIGURES
    assert report.waiting == []

    written = json.loads(out.read_text(encoding="utf-8"))
    assert len(written["figures"]) == len(report.figures)
    assert all(f["ratio"] > 0 and f["limit"] > 0 for f in written["figures"])
    table = render_table(report)
    assert all(name in table for name in counts)
