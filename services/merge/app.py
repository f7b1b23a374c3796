"""The merge worker's faust app: intake, merge pipeline, publisher, timers, rebalances.

View state lives in the view store, not in faust tables: the embedded broker
under-reports the latest offset, so a recovered table would silently miss its newest
updates (ARCHITECTURE.md, "State lives in the view store"). Offsets are committed only
after the database commit.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from faust.types import TP

from services.liveness import Liveness
from services.merge.encoding import ViewEncoder, ViewRecord
from services.merge.feed_freshness import FeedFreshness
from services.merge.history import HistoryPruner
from services.merge.intake import MergeApp
from services.merge.lag import Progress, report_lag
from services.merge.pipeline import Pipeline
from services.merge.processor import MergeProcessor
from services.merge.publisher import ViewPublisher
from services.metrics import MergeMetrics
from services.settings import Settings
from services.store.merge_store import MergeStore

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 5.0  # how often a worker looks for changes a crash left in the outbox


def _app_options(settings: Settings) -> dict[str, Any]:
    return {
        "broker": f"kafka://{settings.bootstrap}",
        "store": "memory://",
        "web_enabled": False,
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": max(0.5, settings.session_timeout_s / 5),
        "broker_rebalance_timeout": settings.session_timeout_s,
        "broker_commit_interval": 0.5,
        "stream_wait_empty": False,
        "datadir": str(settings.var_dir / "faust"),
        "broker_credentials": _credentials(settings),
    }


def new_faust_app(settings: Settings) -> faust.App:
    """A plain faust app with the merge workers' consumer settings (the bench's bare agent)."""
    return faust.App(settings.consumer_group, **_app_options(settings))


def raw_topics(app: faust.App, topics: Sequence[str]) -> Any:
    """The source topics as raw bytes: decoding is ours (Confluent framing, batch-wise)."""
    return app.topic(
        *topics,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        internal=False,
    )


def create_app(
    settings: Settings,
    processor: MergeProcessor,
    publisher_store: MergeStore,
    metrics: MergeMetrics,
    *,
    pruner: HistoryPruner | None = None,
    freshness: FeedFreshness | None = None,
    liveness: Liveness | None = None,
) -> MergeApp:
    """The merge worker's app over every source topic that feeds a view; with a ``pruner``,
    it also deletes expired history every ``settings.prune_interval_s``; with a
    ``freshness``, it reads each department's newest event every
    ``settings.freshness_interval_s``; with a ``liveness``, it reports there with each lag
    figure whether its merges advance."""
    app = MergeApp(
        settings.consumer_group,
        fetch_wait_ms=settings.fetch_wait_ms,
        capacity=settings.batch_size * 4,
        **_app_options(settings),
    )
    app.topics.add(raw_topics(app, processor.topics()))
    holder: dict[str, AIOKafkaProducer] = {}

    async def send(record: ViewRecord) -> Awaitable[object]:
        delivery: Awaitable[object] = await holder["producer"].send(
            record.topic, value=record.value, key=record.key, headers=record.headers
        )
        return delivery

    publisher = ViewPublisher(publisher_store, send, ViewEncoder(processor.serde), metrics)
    pipeline = Pipeline(
        app,
        processor,
        publisher,
        metrics,
        batch_size=settings.batch_size,
        fold_interval_s=settings.fold_interval_s,
    )

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def revoked(_: Any, revoked: set[TP], **__: Any) -> None:
        # What was merged of them is committed now; what is queued is the next owner's.
        pipeline.forget(revoked)
        await pipeline.commit_offsets(revoked)

    async def lag_and_liveness() -> None:
        lag = await report_lag(app, metrics, settings.consumer_group, pipeline.progress)
        if liveness is not None:
            liveness.observe(*_merge_state(pipeline.progress, lag, len(app.intake)))

    _every(app, 2.0, "reporting consumer lag", lag_and_liveness)
    _every(app, 0.5, "committing offsets", pipeline.commit_offsets)
    _every(app, 1.0, "counting the outbox", publisher.report_pending)
    if pruner is not None:
        _every(app, settings.prune_interval_s, "pruning expired history", pruner.run)
    if freshness is not None:
        _every(app, settings.freshness_interval_s, "reading feed freshness", freshness.run)

    finished = asyncio.Event()

    async def finish_merging() -> None:
        pipeline.request_stop()
        if "producer" in holder:  # the merge task started: wait for it to wind up
            await finished.wait()

    app.finish_merging = finish_merging

    @app.task  # type: ignore[untyped-decorator]
    async def merge() -> None:
        # Not idempotent: Tansu answers InitProducerId with an error for aiokafka, and a
        # resent view change is harmless on a compacted topic (same key, same value).
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap,
            acks="all",
            linger_ms=2,
            **aiokafka_security(settings),
        )
        await producer.start()
        holder["producer"] = producer
        pipeline.producer = producer
        sweeper = asyncio.create_task(_sweep(publisher))
        try:
            await pipeline.run()
            # Asked to stop: everything merged is acknowledged by the broker, its outbox
            # marks are gone, and its offsets are committed before the worker leaves.
            await publisher.drain()
            await pipeline.commit_offsets()
        finally:
            sweeper.cancel()
            await publisher.drain()
            await producer.stop()
            pipeline.close()
            publisher.close()
            finished.set()

    return app


def _every(app: faust.App, seconds: float, what: str, call: Callable[[], Awaitable[None]]) -> None:
    """Run ``call`` on a faust timer every ``seconds``.

    An exception escaping a faust timer stops the whole worker: a lag figure or an early
    offset commit is never worth that, so a failure is logged and the next tick tries again.
    """

    async def tick() -> None:
        try:
            await call()
        except Exception:
            log.exception("%s failed; retrying at the next tick", what)

    tick.__name__ = tick.__qualname__ = what.replace(" ", "_")  # faust names timers by them
    app.timer(interval=seconds)(tick)


def _merge_state(progress: Progress, lag: int, queued: int) -> tuple[object, bool]:
    """How far the merges got (the offsets merged per partition) and whether work waits:
    records behind on the broker, fetched and queued, or taken by a batch not yet merged."""
    position = tuple(sorted((tp.topic, tp.partition, o) for tp, o in progress.merged.items()))
    return position, lag > 0 or queued > 0 or bool(progress.waiting)


async def _sweep(publisher: ViewPublisher) -> None:
    """Resend what a crashed worker left in the outbox: all of it at start, then what has
    stayed there a while (another worker crashed, or its broker connection failed)."""
    everything = True
    while True:
        try:
            await publisher.sweep(everything=everything)
            everything = False
        except Exception:
            log.exception("resending leftover view changes failed; trying again later")
        await asyncio.sleep(SWEEP_INTERVAL_S)


def _credentials(settings: Settings) -> Any:
    """faust's form of the SASL/TLS settings (None on a plaintext cluster)."""
    context = _ssl_context(settings)
    if settings.kafka_sasl_mechanism:
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    return faust.SSLCredentials(context) if context is not None else None


def aiokafka_security(settings: Settings) -> dict[str, Any]:
    """aiokafka's form of the SASL/TLS settings."""
    options = settings.kafka_options()
    options.pop("ssl_cafile", None)
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(settings)
    return options


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
