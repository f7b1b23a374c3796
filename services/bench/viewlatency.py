"""Event-to-view latency at a fixed offered load, beside raw aiokafka at the load it reached.

Each load gets a broker, a store (SQLite, or a fresh PostgreSQL database) and a worker
of its own, so that no backlog of an earlier step (the worker's outbox of view changes,
above all) is in its way. New registrations go at the offered rate from the sender
process (``sender.py``); the view store is polled for their rows (``visibility.py``).
Then the export's payloads go through aiokafka alone, paced at the rate the run through
the worker reached (``rawlatency.py``). Each figure is named by that reached rate; the
rate asked for is in its detail, and a target stated at a load the run did not reach
is missed.

The worker's ``datong_event_to_view_seconds`` histogram times the commit itself, but
only to its bucket bounds and without a maximum: it is kept as a cross-check only,
the smallest bucket bound holding 99% of the run's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from schemas.serde import Serde
from services.bench import connector, processes, producers, rawlatency
from services.bench.context import VIEW, Run
from services.bench.offered import offer
from services.bench.report import BELOW, Detail, Figure, Target
from services.bench.sender import Sender, live_args
from services.bench.stats import Latencies, bucket_bound, timed
from services.bench.visibility import POLL_INTERVAL_S, VisibilityPoller, wait_visible
from services.broker import EmbeddedBroker, free_port
from services.store.database import create_engine
from services.store.registry_store import SqlRegistry
from services.topics import TopicSpec, ensure_topics, topic_specs

HISTOGRAM = "datong_event_to_view_seconds"
DRAIN_TIMEOUT_S = 60.0  # how long the last event sent may take to become visible
# Two runs that reached rates this close share one raw limit: it is the same load.
SAME_LOAD = 0.02
# The targets, on PostgreSQL: an idle hub (a trickle of 20 events/s) reacts within
# 100 ms; p99 under 500 ms at 1,000 events/s reached, under 1 s at 5,000.
P99_TARGETS = {20.0: 100.0, 1_000.0: 500.0, 5_000.0: 1_000.0}


def event_to_view_latency(run: Run, rate: float, store: str) -> None:
    """Offer ``rate`` events/s through a merge worker on ``store`` ("SQLite" or
    "PostgreSQL"), then through aiokafka alone at the rate reached; add the figures."""
    tmp = run.tmp / f"latency-{store.lower()}-{rate:.0f}"
    tmp.mkdir()
    with EmbeddedBroker(free_port(), log_path=tmp / "broker.log") as broker:
        specs = topic_specs(run.catalog, run.sizes.partitions)
        specs += [
            TopicSpec(rawlatency.topic_for(wait), run.sizes.partitions, False)
            for wait in rawlatency.FETCH_WAITS
        ]
        ensure_topics(broker.bootstrap, specs)
        with _store(run, store, tmp) as url:
            processes.prepare_store(url, run.catalog)
            worker = processes.Worker(run.env(url, tmp.name, broker.bootstrap), tmp / "worker.log")
            try:
                ours, p99_bucket, swept = _through_worker(run, broker.bootstrap, url, worker, rate)
            finally:
                worker.stop()
        raw, paced_at = _raw(run, broker.bootstrap, ours.achieved_rate, tmp)
    detail: Detail = {
        "store": store,
        "offered_per_s": rate,
        "reached_per_s": round(ours.achieved_rate, 1),
        "raw_paced_at_per_s": round(paced_at, 1),
        "raw_reached_per_s": round(min(r.achieved_rate for r in raw.values()), 1),
        "samples": ours.samples,
        "not_visible_in_time": ours.lost,
        "raw_lost": sum(r.lost for r in raw.values()),
        "found_by_final_sweep": swept,
        "poll_interval_ms": POLL_INTERVAL_S * 1000,
        "histogram_p99_bucket_s": p99_bucket,
    }
    _add_figures(run, store, ours, raw, detail)


def _add_figures(
    run: Run, store: str, ours: Latencies, raw: dict[int, Latencies], detail: Detail
) -> None:
    name = f"event-to-view latency at {ours.achieved_rate:,.0f}/s reached ({store})"
    bound = P99_TARGETS.get(ours.offered_rate)
    p99 = Target(bound, BELOW, ours.offered_rate) if bound and store == "PostgreSQL" else None
    for stat, target in (("p50", None), ("p99", p99), ("max", None)):
        for wait, limit in raw.items():
            who = "aiokafka's" if wait == rawlatency.AIOKAFKA_FETCH_WAIT_MS else "the worker's"
            run.report.figures.append(
                Figure(
                    f"{name} {stat}",
                    getattr(ours, stat) * 1000,
                    f"raw aiokafka at the same rate, {who} fetch wait {wait} ms",
                    getattr(limit, stat) * 1000,
                    "ms",
                    target,
                    detail,
                    lost=ours.lost,
                    reached=ours.achieved_rate,
                )
            )


@contextlib.contextmanager
def _store(run: Run, store: str, tmp: Path) -> Iterator[str]:
    if store == "PostgreSQL":
        with processes.fresh_postgres(run.postgres_url) as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'views.db'}"


def _through_worker(
    run: Run, bootstrap: str, url: str, worker: processes.Worker, rate: float
) -> tuple[Latencies, float, int]:
    """The offered load through ``worker``, once one warm-up event shows it is consuming:
    the latencies, the histogram's p99 bucket, and the rows only the final sweep found."""
    engine = create_engine(url)
    hmac_key = secrets.token_bytes(32)
    live = connector.LiveRegistrations(Serde(run.catalog, SqlRegistry(engine)), hmac_key, run.seed)
    first = 10 * run.sizes.events + 1  # residents the export does not have
    label = f"latency {rate:,.0f}/s"
    try:
        with run.timed(f"{label}: worker start and warm-up"):
            warm_up = live.record(first)
            asyncio.run(offer(bootstrap, 1, rate, lambda _: warm_up, lambda *_: None))
            wait_visible(
                url, VIEW, warm_up.key.decode(), run.timeout(), lambda: worker.check_alive("worker")
            )
    finally:
        engine.dispose()
    before = worker.buckets(HISTOGRAM)
    poller = VisibilityPoller(url, VIEW, run.sizes.partitions)
    poller.start()
    seconds = run.sizes.latency_seconds
    with run.timed(f"{label}: through the worker"):
        sender = Sender(
            bootstrap,
            rate,
            seconds,
            live_args(url, hmac_key, run.seed, first + 1),
            log=worker.log.with_name("sender.log"),
            on_sent=poller.sent,
        )
        try:
            offered = sender.wait(seconds + run.timeout())
            poller.wait_all(offered.sent.keys(), DRAIN_TIMEOUT_S)
            gave_up_at = time.time()
        finally:
            sender.stop()
            seen = poller.stop()
    ours = timed(offered.sent, [seen], gave_up_at=gave_up_at, offered=rate, reached=offered.reached)
    return ours, bucket_bound(before, worker.buckets(HISTOGRAM), 0.99), poller.swept


def _raw(run: Run, bootstrap: str, rate: float, tmp: Path) -> tuple[dict[int, Latencies], float]:
    """The raw limits paced at ``rate``, or those of an earlier run that reached the same
    load; with the rate they were paced at."""
    if not rate > 0:  # nan too: no two sends to time
        raise processes.BenchError(f"the sender reached no rate ({rate}) to pace the limit at")
    for paced_at, limits in run.raw_limits:
        if abs(paced_at - rate) <= SAME_LOAD * rate:
            return limits, paced_at
    payloads = run.tmp / "raw-payloads.bin"
    if not payloads.exists():  # the export's payloads in random order, sent round and round
        chosen = random.Random(run.seed).sample(run.payloads, len(run.payloads))
        producers.write_payloads(payloads, chosen)
    load = rawlatency.RawLoad(
        bootstrap, run.sizes.partitions, payloads, rate, run.sizes.latency_seconds, tmp
    )
    with run.timed(f"latency {rate:,.0f}/s: raw aiokafka"):
        limits = rawlatency.raw_latency(
            load, {wait: rawlatency.topic_for(wait) for wait in rawlatency.FETCH_WAITS}
        )
    run.raw_limits.append((rate, limits))
    return limits, rate
