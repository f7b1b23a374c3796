"""Composition of a merge worker process: store, serde, metrics server, faust app."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.liveness import Liveness
from services.merge.app import create_app
from services.merge.feed_freshness import FeedFreshness
from services.merge.history import HistoryPruner
from services.merge.intake import MergeApp
from services.merge.marks import open_marks
from services.merge.processor import MergeProcessor
from services.metrics import MergeMetrics
from services.metrics_server import serve_metrics
from services.registries import hub_registry
from services.retention import Retention
from services.settings import Settings
from services.store.database import create_engine, create_schema
from services.store.merge_store import open_merge_store
from services.topics import prepare_topics, topic_specs

log = logging.getLogger(__name__)
# Under the worker's terminationGracePeriodSeconds (60 in deploy/k8s/worker.yaml), with
# room for faust's own stop after it.
FINISH_TIMEOUT_S = 30.0
# faust's stop after the merge has finished: leaving the group and closing the clients.
STOP_LIMIT_S = 10.0


def run_worker(settings: Settings) -> None:
    """Run one merge worker until SIGINT/SIGTERM."""
    metrics_token = settings.metrics_token  # refuses to start without one in production
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.load()
    engine = create_engine(settings.database_url)
    create_schema(engine)
    prepare_topics(
        settings.topics,
        settings.bootstrap,
        topic_specs(catalog, settings.partitions, settings.dlq_retention_days),
        **settings.kafka_options(),
    )
    registry = CollectorRegistry()
    metrics = MergeMetrics(registry)
    serde = Serde(catalog, hub_registry(settings, engine))
    # Two connections of the merge's own: one merges and folds, one settles what was published.
    processor = MergeProcessor(
        open_merge_store(settings.database_url),
        serde,
        metrics,
        settings.hmac_key,
        marks=open_marks(settings),
        test_window_h=settings.epidemic_test_window_h,
    )
    processor.prepare()
    pruner = HistoryPruner(
        engine, Retention.from_settings(settings), settings.prune_batch_size, metrics
    )
    # Read before the metrics are served: the first scrape after a restart already shows
    # a department that went quiet before it.
    freshness = FeedFreshness(engine, settings.feed_schedule, catalog.departments(), metrics)
    freshness.refresh()
    liveness = Liveness(settings.liveness_stall_s)
    app = create_app(
        settings,
        processor,
        open_merge_store(settings.database_url),
        metrics,
        pruner=pruner,
        freshness=freshness,
        liveness=liveness,
    )
    server = serve_metrics(
        registry,
        settings.api_host,
        settings.worker_metrics_port,
        liveness,
        metrics_token,
    )
    log.info("worker metrics on http://%s:%d/metrics", settings.api_host, server.server_port)
    _tune_garbage_collector()
    worker = _GracefulWorker(app, loglevel="WARNING", quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        server.shutdown()


class _GracefulWorker(faust.Worker):
    """faust's worker, whose SIGTERM (and Ctrl-C) first lets the merge finish its batch.

    faust alone cancels the merge task wherever it is: a batch committed to the store but
    not yet published waits in the outbox for another worker's sweep, and offsets merged
    since the last commit are merged again by the next owner. Finished first, a stop is a
    non-event; past ``FINISH_TIMEOUT_S`` (a database that does not answer) faust's own stop
    goes ahead, and the outbox and the replay cover what was in flight.
    """

    def __init__(self, app: MergeApp, **options: Any) -> None:
        super().__init__(app, **options)
        self._merge_app = app
        self._finishing: asyncio.Future[None] | None = None

    def _on_sigterm(self) -> None:
        self._finish_then_stop(signal.SIGTERM)

    def _on_sigint(self) -> None:
        self._finish_then_stop(signal.SIGINT)

    def _finish_then_stop(self, signum: signal.Signals) -> None:
        if self._finishing is None:
            self._finishing = asyncio.ensure_future(self._finish(signum), loop=self.loop)

    async def _finish(self, signum: signal.Signals) -> None:
        log.info("%s: finishing the batch in hand, then stopping", signum.name)
        finished = False
        try:
            await asyncio.wait_for(self._merge_app.finish_merging(), FINISH_TIMEOUT_S)
            finished = True
        except TimeoutError:
            log.warning("the merge did not finish in %g s; stopping anyway", FINISH_TIMEOUT_S)
        finally:
            self._schedule_shutdown(signum)
            self.loop.call_later(STOP_LIMIT_S, _stop_overdue, finished)


def _stop_overdue(finished: bool) -> None:
    """End a worker whose faust stop outlasts ``STOP_LIMIT_S``.

    faust's stop waits for the Kafka consumer's thread to shut down, and that thread waits
    on the broker. Stopped while it starts, it has been seen to wait there past faust's own
    60 s limit (1 stop in 30 within a second of the metrics port answering, under load), so
    ``datong up`` or the kubelet killed it. By now the merge has ended: when it finished,
    everything merged is committed, published and its offsets committed, and the group
    forgets the member by its session timeout; so the exit is clean, and says why.
    """
    log.warning(
        "faust's stop has not ended %g s after the merge %s; exiting without waiting for the "
        "Kafka consumer to leave its group (the broker drops it after the session timeout)",
        STOP_LIMIT_S,
        "finished" if finished else "was given up",
    )
    logging.shutdown()
    os._exit(0 if finished else 1)


def _tune_garbage_collector() -> None:
    """Collect cyclic garbage far less often than CPython's default.

    A merge allocates a few dozen short-lived dicts per event; with the default threshold
    (700 allocations) the collector ran every few events and scanned the whole of faust's,
    aiokafka's and the catalog's objects each time: measured at 30% of the merge's time.
    What exists at start is frozen out of every collection; cycles are still collected,
    every 50,000 allocations instead of 700.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
