"""Composition of the feed quality consumer's process: store, serde, metrics server, loop."""

from __future__ import annotations

import logging
import signal
import threading

from prometheus_client import CollectorRegistry

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.metrics import QualityMetrics
from services.metrics_server import serve_metrics
from services.quality.consumer import QualityConsumer, open_consumer
from services.registries import hub_registry
from services.settings import Settings
from services.store.database import create_engine, create_schema
from services.topics import prepare_topics, topic_specs

log = logging.getLogger(__name__)


def quality_group(settings: Settings) -> str:
    """The quality consumers' group: beside the merge workers', never the same."""
    return f"{settings.consumer_group}-quality"


def run_quality(settings: Settings) -> None:
    """Count the feeds into their scorecards until SIGINT/SIGTERM."""
    # First: a stop while it starts (``datong up`` stopping everything) is a clean exit.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    metrics_token = settings.metrics_token
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
    metrics = QualityMetrics(registry)
    serde = Serde(catalog, hub_registry(settings, engine))
    client = open_consumer(
        settings.bootstrap,
        quality_group(settings),
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=max(500, int(settings.session_timeout_s * 200)),
        **settings.kafka_options(),
    )
    consumer = QualityConsumer(engine, serde, metrics, client, settings.batch_size)
    server = serve_metrics(
        registry, settings.api_host, settings.quality_metrics_port, None, metrics_token
    )
    log.info("quality metrics on http://%s:%d/metrics", settings.api_host, server.server_port)
    try:
        consumer.run(stop.is_set)
    finally:
        consumer.close()
        server.shutdown()
        engine.dispose()
