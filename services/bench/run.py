"""``run_bench``: a seeded export on an embedded broker, every figure beside its limit.

Order of a run: the connector publishes the export, then the raw producers send the
same encoded payloads to topics of their own; the merge worker on PostgreSQL, the bare
faust agent, raw aiokafka and the merge worker on SQLite each consume the connector's
topics from the start under a fresh consumer group, one at a time, and their peak
memory is read when they are done. The connector then runs once more as a process of
its own, beside a raw producer process, for their peak memory (``memory.py``).
Each latency load, on PostgreSQL and on SQLite, gets a broker, a store and a worker of
its own (``viewlatency.py``), so that no backlog of the throughput runs is in its way;
so does the event-to-SSE run, with ``datong api`` beside its worker (``sselatency.py``).
The view query run (``queries.py``) and the store-size run (``scaling.py``) fill fresh
PostgreSQL stores of their own; two workers merge the demo community on another
(``twoworkers.py``). Every offered load comes from a sender process (``sender.py``).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path

from schemas.catalog import Catalog
from services.bench import (
    memory,
    queries,
    scaling,
    sselatency,
    throughput,
    twoworkers,
    viewlatency,
)
from services.bench.context import Run, Sizes
from services.bench.report import BenchReport, Detail
from services.broker import EmbeddedBroker, free_port

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PACKAGES = (
    "kafka-python",
    "confluent-kafka",
    "aiokafka",
    "faust-streaming",
    "fastavro",
    "uvicorn",
    "aiohttp",
)


def run_bench(
    quick: bool,
    out: Path,
    *,
    scale: float = 1.0,
    postgres_url: str = DEFAULT_POSTGRES_URL,
    seed: int = 7,
    sizes: Sizes | None = None,
    holiday_calendar: Path | None = None,
) -> BenchReport:
    """Run the bench, write the JSON report to ``out`` and return it.

    A figure that cannot be measured is left out and its reason listed in
    ``report.errors``; the bench itself never raises for a slow or failed measurement.

    Args:
        quick: the short development run (three to four minutes) instead of the full one.
        out: where to write the JSON report (``var/bench.json`` from the CLI).
        scale: multiplies the sizes (the smoke test uses a small one).
        postgres_url: an existing database; the bench creates and drops its own beside it.
        seed: seeds the generated export.
        sizes: instead of the sizes ``quick`` and ``scale`` give (the smoke test's).
        holiday_calendar: the operator's holiday calendar file, passed on to the bench's
            hub processes (``DATONG_HOLIDAY_CALENDAR``).
    """
    sizes = sizes or Sizes.of(quick, scale)
    report = BenchReport(
        quick=quick,
        scale=scale,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=_machine(),
        sizes=sizes.describe(),
    )
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="datong-bench-") as tmp_dir,
        EmbeddedBroker(free_port(), log_path=Path(tmp_dir) / "broker.log") as broker,
    ):
        tmp = Path(tmp_dir)
        run = Run(
            report,
            sizes,
            tmp,
            broker.bootstrap,
            Catalog.load(),
            f"sqlite:///{tmp / 'views.db'}",
            postgres_url,
            seed,
            [],
            holiday_calendar=holiday_calendar.resolve() if holiday_calendar else None,
        )
        _step(run, "topics", throughput.create_topics)
        _step(run, "connector publish rate", throughput.connector_rate)
        if run.payloads:
            _step(run, "merge rate (PostgreSQL)", throughput.merge_rate_postgres)
            _step(run, "merge rate (SQLite)", throughput.merge_rate_sqlite)
            _step(run, "connector peak memory", memory.connector_memory)
            for store in sizes.latency_stores:
                for rate in sizes.latency_rates:
                    _step(
                        run,
                        f"event-to-view latency at {rate:,.0f}/s offered ({store})",
                        partial(viewlatency.event_to_view_latency, rate=rate, store=store),
                    )
        _step(run, "event-to-SSE latency", sselatency.event_to_sse_latency)
        _step(run, "view query latency", queries.view_query_latency)
        _step(run, "merge rate by residents in the view", scaling.merge_rate_by_residents)
        _step(run, "two workers on PostgreSQL", twoworkers.two_workers)
    report.seconds = round(time.monotonic() - started, 1)
    # Other processes on the machine skew every figure; say how busy it was.
    report.machine["load average at end"] = round(os.getloadavg()[0], 2)
    report.write(out)
    return report


def _step(run: Run, name: str, step: Callable[[Run], None]) -> None:
    """Run one step; a failure is reported with its figures missing, never raised."""
    with run.timed(name):
        try:
            step(run)
        except Exception as exc:  # a bench reports what it could not measure and goes on
            run.report.errors.append(f"{name}: {type(exc).__name__}: {exc}")


def _machine() -> Detail:
    detail: Detail = {
        "cpus": os.cpu_count() or 0,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load average at start": round(os.getloadavg()[0], 2),
    }
    for package in PACKAGES:
        try:
            detail[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            detail[package] = "missing"
    return detail
