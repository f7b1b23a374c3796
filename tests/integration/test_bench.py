"""The bench runs end to end and reports every figure beside its limit (speeds are not judged)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from services.bench import render_table, run_bench
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.integration

RATE_FIGURES = {
    "connector publish rate (CSV -> Avro -> Kafka)": 2,  # vs kafka-python and confluent-kafka
    "merge rate per worker (PostgreSQL)": 2,  # vs the bare faust agent and raw aiokafka
    "merge rate per worker (SQLite)": 2,
}
LATENCY_STATS = ("p50", "p99", "max")


def test_quick_bench_reports_every_figure_with_a_positive_value_beside_its_limit(
    tmp_path: Path,
) -> None:
    out = tmp_path / "var" / "bench.json"
    report = run_bench(True, out, scale=0.1, postgres_url=POSTGRES_URL)

    assert report.errors == []
    counts: dict[str, int] = {}
    for figure in report.figures:
        counts[figure.name] = counts.get(figure.name, 0) + 1
        assert figure.value > 0 and figure.limit > 0, figure
        assert figure.limit_name and math.isfinite(figure.ratio), figure
    latency = {name: n for name, n in counts.items() if name.startswith("event-to-view latency")}
    assert {name: n for name, n in counts.items() if name not in latency} == RATE_FIGURES
    assert sorted(name.rsplit(" ", 1)[1] for name in latency) == sorted(LATENCY_STATS)
    assert all(n >= 1 for n in latency.values())

    written = json.loads(out.read_text(encoding="utf-8"))
    assert len(written["figures"]) == len(report.figures)
    assert all(f["ratio"] > 0 and f["limit"] > 0 for f in written["figures"])
    table = render_table(report)
    assert all(name in table for name in counts)
