"""Event-to-view latency at a fixed offered load, beside raw aiokafka at the same load.

Each load gets a broker, a store and a worker of its own, so that no backlog of an
earlier step (the worker's outbox of view changes, above all) is in its way. New
registrations are published at the offered rate through the connector's publisher; the
view store is polled for their rows (``latency.py``). Then the export's payloads, drawn
at random, go at the same rate through aiokafka alone (``rawlatency.py``).
"""

from __future__ import annotations

import asyncio
import random
import secrets

from schemas.registry import SqlRegistry
from schemas.serde import Serde
from services.bench import connector, latency, processes, rawlatency
from services.bench.context import VIEW, Run
from services.bench.offered import offer
from services.bench.report import Detail, Figure, Target
from services.broker import EmbeddedBroker, free_port
from services.store.database import create_engine
from services.topics import TopicSpec, ensure_topics, topic_specs

HISTOGRAM = "datong_event_to_view_seconds"


def event_to_view_latency(run: Run, rate: float) -> None:
    """Offer ``rate`` events/s through a merge worker on SQLite, then through aiokafka."""
    label = f"{rate:,.0f}/s"
    tmp = run.tmp / f"latency-{rate:.0f}"
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
        worker = processes.Worker(
            run.env(url, f"latency-{rate:.0f}", broker.bootstrap), tmp / "worker.log"
        )
        try:
            ours, p99_bucket = _through_worker(run, broker.bootstrap, url, worker, rate)
        finally:
            worker.stop()
        with run.timed(f"latency {label}: raw aiokafka"):
            raw = _raw(run, broker.bootstrap, rate)
    detail: Detail = {
        "offered_per_s": ours.offered_rate,
        "achieved_per_s": round(ours.achieved_rate, 1),
        "raw_achieved_per_s": round(min(r.achieved_rate for r in raw.values()), 1),
        "samples": ours.samples,
        "not_visible_in_time": ours.missing,
        "raw_missing": sum(r.missing for r in raw.values()),
        "poll_interval_ms": latency.POLL_INTERVAL_S * 1000,
        "histogram_p99_bucket_s": p99_bucket,
        "store": "SQLite",
    }
    name = f"event-to-view latency at {label}"
    # Issue 7's targets: p99 under 500 ms at 1,000 events/s, and under 1 s at 5,000.
    p99_bound = 500.0 if rate <= 1_000 else 1_000.0
    for stat, target in (("p50", None), ("p99", Target(p99_bound, "value")), ("max", None)):
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
    run: Run, bootstrap: str, url: str, worker: processes.Worker, rate: float
) -> tuple[latency.Latencies, float]:
    """The offered load through ``worker``, once one warm-up event shows it is consuming."""
    engine = create_engine(url)
    live = connector.LiveRegistrations(
        Serde(run.catalog, SqlRegistry(engine)), secrets.token_bytes(32), run.seed
    )
    first = 10 * run.sizes.events + 1  # residents the export does not have
    label = f"{rate:,.0f}/s"
    try:
        with run.timed(f"latency {label}: worker start and warm-up"):
            warm_up = live.record(first)
            asyncio.run(offer(bootstrap, 1, rate, lambda _: warm_up, lambda *_: None))
            latency.wait_visible(
                url,
                VIEW,
                warm_up.key.decode(),
                run.timeout(),
                lambda: worker.check_alive("worker"),
            )
        before = worker.buckets(HISTOGRAM)
        with run.timed(f"latency {label}: through the worker"):
            ours = latency.view_latency(
                bootstrap,
                lambda i: live.record(first + 1 + i),
                database_url=url,
                view=VIEW,
                rate=rate,
                seconds=run.sizes.latency_seconds,
            )
        return ours, latency.bucket_bound(before, worker.buckets(HISTOGRAM), 0.99)
    finally:
        engine.dispose()


def _raw(run: Run, bootstrap: str, rate: float) -> dict[int, latency.Latencies]:
    """The export's payloads, drawn at random, at ``rate`` through aiokafka alone."""
    total = int(rate * run.sizes.latency_seconds)
    chosen = random.Random(run.seed).choices(run.payloads, k=total)
    return rawlatency.raw_latency(
        bootstrap,
        {wait: rawlatency.topic_for(wait) for wait in rawlatency.FETCH_WAITS},
        run.sizes.partitions,
        [(p.value, p.headers) for p in chosen],
        rate,
    )
