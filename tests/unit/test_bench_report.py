"""The bench's report and memory readings: what an operator reads off the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.bench.context import Sizes
from services.bench.report import BenchReport, Figure, render_table
from services.bench.rss import RssError, status_field_mb

STATUS = """Name:\tpython
VmPeak:\t  812340 kB
VmHWM:\t  131072 kB
VmRSS:\t   65536 kB
"""


def test_peak_and_current_memory_are_read_from_proc_status_in_mib() -> None:
    assert status_field_mb(STATUS, "VmHWM") == 128.0
    assert status_field_mb(STATUS, "VmRSS") == 64.0


def test_a_status_without_the_line_is_an_error_naming_it() -> None:
    with pytest.raises(RssError, match="VmHWM"):
        status_field_mb("Name:\tpython\n", "VmHWM")


def report() -> BenchReport:
    return BenchReport(False, 1.0, "2026-01-01T00:00:00+00:00", {}, Sizes.of(False, 1.0).describe())


def test_a_memory_figure_shows_mib_and_its_ratio_to_the_raw_client(tmp_path: Path) -> None:
    bench = report()
    bench.figures.append(
        Figure("peak memory: connector", 96.0, "raw kafka-python producer process", 48.0, "MiB")
    )
    bench.write(tmp_path / "bench.json")

    table = render_table(bench)
    assert "96.0 MiB" in table and "48.0 MiB" in table and "2.00" in table
    written = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert written["figures"][0]["ratio"] == 2.0


def test_a_figure_waiting_for_another_issue_is_listed_and_written() -> None:
    bench = report()
    bench.waiting.append("export rate: needs GET /views/{view}/export (another issue)")

    assert "waiting: export rate: needs GET /views/{view}/export" in render_table(bench)
    assert bench.as_json()["waiting"] == bench.waiting


def test_the_full_run_measures_what_issue_7_names() -> None:
    sizes = Sizes.of(quick=False, scale=1.0)
    assert sizes.latency_rates == (20.0, 1_000.0, 5_000.0) and sizes.latency_seconds == 60.0
    assert sizes.readers == 50
    assert sizes.residents == (10_000, 100_000, 1_000_000)


def test_a_quick_run_is_smaller_than_the_full_one_everywhere() -> None:
    quick, full = Sizes.of(quick=True, scale=1.0), Sizes.of(quick=False, scale=1.0)
    assert quick.events < full.events and quick.latency_seconds < full.latency_seconds
    assert quick.query_seconds < full.query_seconds
    assert max(quick.residents) < max(full.residents)
    assert quick.scaling_events < full.scaling_events
    assert quick.demo_residents < full.demo_residents


def test_latency_is_measured_on_postgresql_where_the_issue_sets_its_targets() -> None:
    for quick in (True, False):
        assert "PostgreSQL" in Sizes.of(quick, scale=1.0).latency_stores
