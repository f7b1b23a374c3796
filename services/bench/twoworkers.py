"""Two merge workers on PostgreSQL in one consumer group, merging the demo community.

Two figures of the issue's target table come from this run, read from the workers'
``/metrics`` and from the store; neither has a raw counterpart, so each stands beside
the limit the design sets for it (ARCHITECTURE.md, "No merge transaction writes a
community row"), 0, and its target is that 0:

* serialization retries in steady state: ``datong_merge_retries_total`` summed over both
  workers, from the moment the group settled (every partition of the source topics
  reported by exactly one worker, before any event is sent) to the moment the last
  event was merged. No merge transaction may write a row every worker touches, so two
  workers never conflict once each owns its partitions. A worker without the metric
  leaves the figure not measured, with that reason;
* published outbox rows kept after draining: the rows left in ``outbox`` once both
  workers merged and published everything (no consumer lag, nothing pending, nothing
  merged for ``QUIET_S``) and ``GRACE_S`` more passed. Published rows are deleted, so
  the outbox stays bounded.

The demo community is fed as ``datong up --demo`` feeds it: housing first (its export
builds the gazetteer), then every other department's connector at once.
"""

from __future__ import annotations

import math
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa

from services.bench import connector, processes
from services.bench.context import Run
from services.bench.report import AT_MOST, Detail, Figure, Target
from services.broker import EmbeddedBroker, free_port
from services.store.database import create_engine
from services.topics import ensure_topics, topic_specs

COMMUNITIES = 2  # the demo's default
RETRIES = "datong_merge_retries_total"
SETTLE_S = 60.0  # how long the group may take to settle before the load goes anyway
QUIET_S = 3.0  # longer than the workers' lag timer (2 s): a stalled merge would show
GRACE_S = 10.0  # for a worker that deletes published rows after a delay
CHECK_S = 0.25


def two_workers(run: Run) -> None:
    """Merge the demo community with two workers on PostgreSQL; add the two figures."""
    tmp = run.tmp / "two-workers"
    tmp.mkdir()
    demo = connector.demo_exports(tmp / "demo", COMMUNITIES, run.sizes.demo_residents, run.seed)
    with (
        EmbeddedBroker(free_port(), log_path=tmp / "broker.log") as broker,
        processes.fresh_postgres(run.postgres_url) as url,
    ):
        ensure_topics(broker.bootstrap, topic_specs(run.catalog, run.sizes.partitions))
        processes.prepare_store(url, run.catalog)
        env = run.env(url, "two-workers-1", broker.bootstrap)
        second = {
            **env,
            "DATONG_VAR_DIR": str(run.tmp / "two-workers-2"),
            "DATONG_WORKER_METRICS_PORT": str(free_port()),
        }
        workers = [
            processes.Worker(env, tmp / "worker-1.log"),
            processes.Worker(second, tmp / "worker-2.log"),
        ]
        try:
            detail, retries = _merge(run, workers, env, demo, tmp)
            with run.timed("two workers: outbox after draining"):
                kept = _outbox_rows_after(url, GRACE_S)
        finally:
            for worker in workers:
                worker.stop()
    _add_figures(run, detail, retries, kept)


def _merge(
    run: Run,
    workers: list[processes.Worker],
    env: dict[str, str],
    demo: connector.DemoExports,
    tmp: Path,
) -> tuple[Detail, float | str]:
    """Settle the group, feed the demo, wait until drained; the retries counted meanwhile
    (or why they could not be)."""
    topics = {(topic, p) for topic in run.merge_topics for p in range(run.sizes.partitions)}
    with run.timed("two workers: start and settle"):
        settled = _settle(workers, topics, SETTLE_S)
    before = [worker.scrape().total(RETRIES) for worker in workers]
    started = time.monotonic()
    with run.timed("two workers: feed the demo and merge it"):
        _feed(demo, env, tmp, 60.0 + demo.events / 100.0)
        merged = _drain(workers, demo.events, 60.0 + demo.events / 50.0)
    after = [worker.scrape().total(RETRIES) for worker in workers]
    detail: Detail = {
        "events": demo.events,
        "residents": run.sizes.demo_residents,
        "merged (event, view) pairs": merged,
        "seconds": round(time.monotonic() - started, 1),
        "group settled before the load": "yes" if settled else f"no, after {SETTLE_S:g} s",
        "partitions owned at the end": "/".join(str(len(_owned(w))) for w in workers),
    }
    if any(count is None for count in [*before, *after]):
        return detail, f"the workers expose no {RETRIES}; issue 12's merge rewrite adds it"
    return detail, sum(a or 0.0 for a in after) - sum(b or 0.0 for b in before)


def _owned(worker: processes.Worker) -> set[tuple[str, int]]:
    """The partitions ``worker`` reports consumer lag for: the ones it owns."""
    return {
        (labels["topic"], int(labels["partition"]))
        for labels, _ in worker.samples("datong_consumer_lag")
    }


def _settle(
    workers: list[processes.Worker], topics: set[tuple[str, int]], timeout_s: float
) -> bool:
    """Wait until every partition is owned by exactly one worker and each owns some."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for n, worker in enumerate(workers, 1):
            worker.check_alive(f"merge worker {n}")
        owned = [_owned(worker) for worker in workers]
        union: set[tuple[str, int]] = set().union(*owned)
        disjoint = sum(len(o) for o in owned) == len(union)
        if all(owned) and disjoint and union >= topics:
            return True
        time.sleep(CHECK_S)
    return False


def _feed(demo: connector.DemoExports, env: dict[str, str], tmp: Path, timeout_s: float) -> None:
    """Run the demo's connectors: housing alone first, then the others at once."""
    (first, first_folder), *rest = demo.folders

    def start(department: str, folder: Path) -> processes.Child:
        args = ["-m", "services.cli", "connector", "run", department, "--source", str(folder)]
        return processes.Child(args, env, tmp / f"connector-{department}.log")

    # The connectors look their schema ids up in a hub API's registry, as in production.
    api = processes.Api(env, tmp / "api.log")
    started: list[processes.Child] = [api]
    try:
        api.wait_ready(timeout_s)
        env = {**env, "DATONG_REGISTRY_URL": f"{api.url}/registry"}
        for batch in ([(first, first_folder)], rest):
            children = [start(department, folder) for department, folder in batch]
            started += children
            for child in children:
                try:
                    child.process.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    raise processes.BenchError(
                        f"a demo connector ran past {timeout_s:g}s"
                    ) from None
                if child.process.returncode:
                    child.check_alive("a demo connector")  # raises, with its log's tail
    finally:
        for child in started:
            child.stop()


def _drain(workers: list[processes.Worker], events: int, timeout_s: float) -> int:
    """Wait until both workers merged and published everything; the (event, view) pairs
    they merged (at least one per event)."""
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        scrapes = [worker.scrape() for worker in workers]
        merged = int(sum(s.total("datong_merge_events_total") or 0.0 for s in scrapes))
        if merged != last:
            last, since = merged, time.monotonic()
        lag = sum(value for s in scrapes for _, value in s.of("datong_consumer_lag"))
        pending = sum(s.total("datong_outbox_pending") or 0.0 for s in scrapes)
        quiet = time.monotonic() - since >= QUIET_S
        if merged >= events and lag == 0 and pending == 0 and quiet:
            return merged
        for n, worker in enumerate(workers, 1):
            worker.check_alive(f"merge worker {n}")
        time.sleep(CHECK_S)
    raise processes.BenchError(f"two workers merged {last} of {events} events in {timeout_s:g}s")


def _outbox_rows_after(url: str, grace_s: float) -> int:
    """Rows in the outbox: 0 as soon as it is, else what is left after ``grace_s``."""
    engine = create_engine(url)
    deadline = time.monotonic() + grace_s
    try:
        while True:
            with engine.connect() as conn:
                rows = int(conn.scalar(sa.text("SELECT count(*) FROM outbox")) or 0)
            if rows == 0 or time.monotonic() > deadline:
                return rows
            time.sleep(CHECK_S)
    finally:
        engine.dispose()


def _add_figures(run: Run, detail: Detail, retries: float | str, kept: int) -> None:
    retry_detail = dict(detail)
    if isinstance(retries, str):
        retry_detail["not measured"] = retries
    run.report.figures += [
        Figure(
            "two workers, PostgreSQL: serialization retries in steady state",
            math.nan if isinstance(retries, str) else retries,
            "0: no merge transaction writes a row every worker touches",
            0.0,
            "retries",
            Target(0, AT_MOST),
            retry_detail,
        ),
        Figure(
            "published outbox rows kept after draining (PostgreSQL)",
            float(kept),
            "0: published rows are deleted",
            0.0,
            "rows",
            Target(0, AT_MOST),
            detail,
        ),
    ]
