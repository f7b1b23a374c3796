"""The performance page's bench table is what the renderer makes of the report kept beside it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from services.bench.markdown import (
    BEGIN,
    END,
    ReadmeError,
    fill_readme,
    readme_block,
    render_markdown,
)
from services.bench.report import (
    AT_MOST,
    NOT_MEASURED,
    BenchReport,
    Figure,
    Target,
    write_json,
)

ROOT = Path(__file__).resolve().parents[2]
KEPT_REPORT = ROOT / "docs" / "bench" / "latest.json"
README = ROOT / "docs" / "performance.md"


def report() -> dict[str, Any]:
    bench = BenchReport(
        quick=True,
        scale=1.0,
        started="2026-03-01T09:00:00+00:00",
        machine={
            "cpus": 2,
            "python": "3.11.9",
            "platform": "Linux-6.1",
            "load average at start": 1.5,
            "load average at end": 2.25,
            "kafka-python": "3.0.12",
            "aiokafka": "0.14.0",
            "faust-streaming": "0.15.3",
        },
        sizes={"events": 6000, "partitions": 4},
        seconds=301.4,
    )
    bench.figures += [
        Figure("merge rate | SQLite", 800.0, "bare faust agent", 1000.0, "events/s", Target(0.7)),
        Figure(
            "retries",
            math.nan,
            "0: none by design",
            0.0,
            "retries",
            Target(0.0, AT_MOST),
            {NOT_MEASURED: "no such metric"},
        ),
    ]
    bench.errors.append("view query latency: BenchError: no PostgreSQL")
    return bench.as_json()


def test_a_report_renders_as_its_heading_its_table_and_what_it_could_not_measure() -> None:
    assert render_markdown(report()) == (
        "Quick run of 2026-03-01T09:00:00+00:00, 301 s, on 2 cores (Linux-6.1, Python 3.11.9;"
        " kafka-python 3.0.12, aiokafka 0.14.0, faust-streaming 0.15.3), load average 1.5 at"
        " the start and 2.25 at the end.\n"
        "\n"
        "Sizes: events: 6000; partitions: 4.\n"
        "\n"
        "| figure | value | limit, same run | limit value | ratio | target |\n"
        "| --- | ---: | --- | ---: | ---: | --- |\n"
        "| merge rate \\| SQLite | 800 events/s | bare faust agent | 1,000 events/s | 0.80 "
        "| >= 0.70x met |\n"
        "| retries | n/a | 0: none by design | 0 retries | n/a "
        "| = 0 retries not measured (no such metric) |\n"
        "\n"
        "- could not measure: view query latency: BenchError: no PostgreSQL\n"
    )


def test_the_report_read_back_from_its_json_file_renders_the_same(tmp_path: Path) -> None:
    data = report()
    write_json(tmp_path / "bench.json", data)
    text = (tmp_path / "bench.json").read_text(encoding="utf-8")

    assert '"value": null' in text and "NaN" not in text  # strict JSON: nan is null
    assert render_markdown(json.loads(text)) == render_markdown(data)


def test_filling_the_readme_replaces_only_what_stands_between_the_markers() -> None:
    readme = f"# title\n\nbefore\n{BEGIN}\nold table\n{END}\nafter\n"

    filled = fill_readme(readme, "| new | table |\n")

    assert filled == f"# title\n\nbefore\n{BEGIN}\n| new | table |\n{END}\nafter\n"
    assert readme_block(filled) == "| new | table |\n"
    assert fill_readme(filled, "| new | table |\n") == filled


def test_a_readme_without_both_markers_in_order_is_refused() -> None:
    with pytest.raises(ReadmeError):
        fill_readme("no block here\n", "x")
    with pytest.raises(ReadmeError):
        fill_readme(f"{END}\n{BEGIN}\n", "x")
    with pytest.raises(ReadmeError):
        fill_readme(f"{BEGIN}\n{END}\n{BEGIN}\n{END}\n", "x")


def test_the_readme_shows_exactly_the_kept_report_never_a_hand_edited_table() -> None:
    kept = json.loads(KEPT_REPORT.read_text(encoding="utf-8"))

    assert readme_block(README.read_text(encoding="utf-8")) == render_markdown(kept), (
        "docs/performance.md's bench table differs from docs/bench/latest.json: run "
        "`datong bench --markdown --from docs/bench/latest.json --readme docs/performance.md`"
    )
