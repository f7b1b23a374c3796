"""Composition of a merge worker process: store, serde, metrics server, faust app."""

from __future__ import annotations

import gc
import logging

import faust
from prometheus_client import CollectorRegistry

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.merge.app import create_app
from services.merge.history import HistoryPruner
from services.merge.processor import MergeProcessor
from services.metrics import MergeMetrics
from services.metrics_server import serve_metrics
from services.registries import hub_registry
from services.retention import Retention
from services.settings import Settings
from services.store.database import create_engine, create_schema
from services.store.merge_store import open_merge_store
from services.topics import prepare_topics, topic_specs


def run_worker(settings: Settings) -> None:
    """Run one merge worker until SIGINT/SIGTERM."""
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
    processor = MergeProcessor(open_merge_store(settings.database_url), serde, metrics)
    processor.prepare()
    pruner = HistoryPruner(
        engine, Retention.from_settings(settings), settings.prune_batch_size, metrics
    )
    app = create_app(settings, processor, open_merge_store(settings.database_url), metrics, pruner)
    server = serve_metrics(registry, settings.api_host, settings.worker_metrics_port)
    logging.getLogger(__name__).info(
        "worker metrics on http://%s:%d/metrics", settings.api_host, server.server_port
    )
    _tune_garbage_collector()
    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        server.shutdown()


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
