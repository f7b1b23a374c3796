"""Composition of a merge worker process: store, serde, metrics server, faust app."""

from __future__ import annotations

import logging

import faust
from prometheus_client import CollectorRegistry

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.merge.app import create_app
from services.merge.processor import MergeProcessor
from services.metrics import MergeMetrics
from services.metrics_server import serve_metrics
from services.schema_registry import open_registry
from services.settings import Settings
from services.store.database import create_engine, create_schema
from services.store.merge_store import open_merge_store
from services.topics import ensure_topics, topic_specs


def run_worker(settings: Settings) -> None:
    """Run one merge worker until SIGINT/SIGTERM."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.load()
    engine = create_engine(settings.database_url)
    create_schema(engine)
    ensure_topics(
        settings.bootstrap, topic_specs(catalog, settings.partitions), **settings.kafka_options()
    )
    registry = CollectorRegistry()
    metrics = MergeMetrics(registry)
    serde = Serde(catalog, open_registry(settings, engine))
    # Two connections of the merge's own: one merges and folds, one settles what was published.
    processor = MergeProcessor(open_merge_store(settings.database_url), serde, metrics)
    processor.prepare()
    app = create_app(settings, processor, open_merge_store(settings.database_url), metrics)
    server = serve_metrics(registry, settings.api_host, settings.worker_metrics_port)
    logging.getLogger(__name__).info(
        "worker metrics on http://%s:%d/metrics", settings.api_host, server.server_port
    )
    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        server.shutdown()
