"""``run_bench``: a seeded export on an embedded broker, every figure beside its limit.

Order of a run: the connector publishes the export, then the raw producers send the
same encoded payloads to topics of their own; the merge worker on PostgreSQL, the bare
faust agent, raw aiokafka and the merge worker on SQLite each consume the connector's
topics from the start under a fresh consumer group, one at a time. The latency run
gets a broker, a store and a worker of its own, so that no backlog of the throughput
runs (the worker's outbox of view changes, above all) is in its way.
"""

from __future__ import annotations

import os
import platform
import random
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from schemas.catalog import Catalog
from schemas.registry import SqlRegistry
from schemas.serde import Serde
from services.bench import connector, latency, processes, rawlatency, throughput
from services.bench.context import VIEW, Run, Sizes
from services.bench.report import BenchReport, Detail, Figure, Target
from services.broker import EmbeddedBroker, free_port
from services.store.database import create_engine
from services.topics import TopicSpec, ensure_topics, topic_specs

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PACKAGES = ("kafka-python", "confluent-kafka", "aiokafka", "faust-streaming", "fastavro")
HISTOGRAM = "datong_event_to_view_seconds"


def run_bench(
    quick: bool,
    out: Path,
    *,
    scale: float = 1.0,
    postgres_url: str = DEFAULT_POSTGRES_URL,
    seed: int = 7,
) -> BenchReport:
    """Run the bench, write the JSON report to ``out`` and return it.

    A figure that cannot be measured is left out and its reason listed in
    ``report.errors``; the bench itself never raises for a slow or failed measurement.

    Args:
        quick: the short development run (under a minute) instead of the full one.
        out: where to write the JSON report (``var/bench.json`` from the CLI).
        scale: multiplies the sizes (the smoke test uses a small one).
        postgres_url: an existing database; the bench creates and drops its own beside it.
        seed: seeds the generated export.
    """
    sizes = Sizes.of(quick, scale)
    report = BenchReport(
        quick=quick,
        scale=scale,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=_machine(),
        sizes={
            "events": sizes.events,
            "partitions": sizes.partitions,
            "latency load": f"{sizes.latency_rate:,.0f}/s for {sizes.latency_seconds:g} s",
        },
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
        )
        _step(run, "topics", throughput.create_topics)
        _step(run, "connector publish rate", throughput.connector_rate)
        if run.payloads:
            _step(run, "merge rate (PostgreSQL)", throughput.merge_rate_postgres)
            _step(run, "merge rate (SQLite)", throughput.merge_rate_sqlite)
            _step(run, "event-to-view latency", event_to_view_latency)
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


def event_to_view_latency(run: Run) -> None:
    """New registrations at the offered load, through the connector's publisher and a
    merge worker on SQLite; then the same payloads at the same rate through aiokafka."""
    tmp = run.tmp / "latency"
    tmp.mkdir()
    url = f"sqlite:///{tmp / 'views.db'}"
    with EmbeddedBroker(free_port(), log_path=tmp / "broker.log") as broker:
        specs = topic_specs(run.catalog, run.sizes.partitions)
        specs += [
            TopicSpec(rawlatency.topic_for(wait), run.sizes.partitions, False)
            for wait in rawlatency.FETCH_WAITS
        ]
        ensure_topics(broker.bootstrap, specs)
        processes.prepare_store(url, run.catalog)
        worker = processes.Worker(run.env(url, "latency", broker.bootstrap), tmp / "worker.log")
        try:
            ours, p99_bucket = _through_worker(run, broker.bootstrap, url, worker)
        finally:
            worker.stop()
        with run.timed("latency: raw aiokafka"):
            raw = _raw(run, broker.bootstrap)
    detail: Detail = {
        "offered_per_s": ours.offered_rate,
        "achieved_per_s": round(ours.achieved_rate, 1),
        "samples": ours.samples,
        "not_visible_in_time": ours.missing,
        "raw_missing": sum(r.missing for r in raw.values()),
        "poll_interval_ms": latency.POLL_INTERVAL_S * 1000,
        "histogram_p99_bucket_s": p99_bucket,
        "store": "SQLite",
    }
    name = f"event-to-view latency at {run.sizes.latency_rate:,.0f}/s"
    for stat, target in (("p50", None), ("p99", Target(500.0, "value")), ("max", None)):
        for wait, limit in raw.items():
            who = "aiokafka's" if wait == rawlatency.AIOKAFKA_FETCH_WAIT_MS else "faust's"
            run.report.figures.append(
                Figure(
                    f"{name} {stat}",
                    getattr(ours, stat) * 1000,
                    f"raw aiokafka, {who} fetch wait {wait} ms",
                    getattr(limit, stat) * 1000,
                    "ms",
                    target,
                    detail,
                )
            )


def _through_worker(
    run: Run, bootstrap: str, url: str, worker: processes.Worker
) -> tuple[latency.Latencies, float]:
    """The offered load through ``worker``, once one warm-up event shows it is consuming."""
    engine = create_engine(url)
    serde = Serde(run.catalog, SqlRegistry(engine))
    live = connector.LivePublisher(bootstrap, serde, secrets.token_bytes(32), run.seed)
    first = 10 * run.sizes.events + 1  # residents the export does not have
    try:
        with run.timed("latency: worker start and warm-up"):
            latency.wait_visible(
                url, VIEW, live.publish(first), run.timeout(), lambda: worker.check_alive("worker")
            )
        before = worker.buckets(HISTOGRAM)
        with run.timed("latency: through the worker"):
            ours = latency.view_latency(
                lambda i: live.publish(first + 1 + i),
                url,
                VIEW,
                run.sizes.latency_rate,
                run.sizes.latency_seconds,
            )
        return ours, latency.bucket_bound(before, worker.buckets(HISTOGRAM), 0.99)
    finally:
        live.close()
        engine.dispose()


def _raw(run: Run, bootstrap: str) -> dict[int, latency.Latencies]:
    """The export's payloads, drawn at random, at the offered rate through aiokafka alone."""
    total = int(run.sizes.latency_rate * run.sizes.latency_seconds)
    chosen = random.Random(run.seed).choices(run.payloads, k=total)
    return rawlatency.raw_latency(
        bootstrap,
        {wait: rawlatency.topic_for(wait) for wait in rawlatency.FETCH_WAITS},
        run.sizes.partitions,
        [(p.value, p.headers) for p in chosen],
        run.sizes.latency_rate,
    )
