"""The faust worker: consumes source topics in batches and runs the merge processor.

View state lives in the view store, not in faust tables: the embedded broker
under-reports the latest offset, so a recovered table would silently miss its newest
updates (DESIGN §4). Offsets are acknowledged only after the database commit.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.errors import IllegalStateError
from faust.types import TP
from sqlalchemy.exc import SQLAlchemyError

from schemas.catalog import dlq_topic
from schemas.headers import DEAD_LETTER_PREFIX
from services.merge.outbox import OutboxPublisher
from services.merge.processor import BatchOutcome, MergeProcessor, Message
from services.metrics import MergeMetrics
from services.settings import Settings

log = logging.getLogger(__name__)

REASON_HEADER = DEAD_LETTER_PREFIX
LAG_POSITION_WAIT_S = 1.0  # a position still being fetched is reported at a later tick


def new_faust_app(settings: Settings) -> faust.App:
    """A faust app with the merge workers' consumer settings (the bench's bare agent too)."""
    return faust.App(
        settings.consumer_group,
        broker=f"kafka://{settings.bootstrap}",
        store="memory://",
        web_enabled=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(0.5, settings.session_timeout_s / 5),
        broker_rebalance_timeout=settings.session_timeout_s,
        broker_commit_interval=0.5,
        stream_wait_empty=False,
        datadir=str(settings.var_dir / "faust"),
        broker_credentials=_credentials(settings),
    )


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
    settings: Settings, engine: sa.Engine, processor: MergeProcessor, metrics: MergeMetrics
) -> faust.App:
    """The faust app with one batching agent over every source topic that feeds a view."""
    app = new_faust_app(settings)
    holder: dict[str, AIOKafkaProducer] = {}
    progress = _Progress()

    async def send(
        topic: str, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Awaitable[object]:
        delivery: Awaitable[object] = await holder["producer"].send(
            topic, value=value, key=key, headers=headers
        )
        return delivery

    publisher = OutboxPublisher(engine, send, metrics)
    source = raw_topics(app, processor.topics())

    @app.agent(source)
    async def merge(stream: Any) -> None:
        async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
            messages = [
                Message(
                    e.message.topic,
                    e.message.partition,
                    e.message.offset,
                    e.message.key,
                    e.message.value,
                )
                for e in events
            ]
            for m in messages:  # a batch stuck on its first attempt still counts as lag
                tp = TP(m.topic, m.partition)
                if tp not in progress.merged:
                    progress.waiting.setdefault(tp, m.offset)
            outcome = await _process_until_committed(processor, messages)
            if outcome.rejects:
                await _dead_letter(holder["producer"], outcome, metrics)
            if outcome.view_changes:
                publisher.wake()
            for m in messages:
                tp = TP(m.topic, m.partition)
                progress.merged[tp] = m.offset
                progress.waiting.pop(tp, None)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_revoked(_: Any, revoked: set[TP], **__: Any) -> None:
        # A partition handed back later must not report what another worker merged.
        progress.forget(revoked)

    @app.timer(interval=2.0)  # type: ignore[untyped-decorator]
    async def report_lag() -> None:
        # An exception escaping a faust timer stops the whole worker: a lag figure is never
        # worth that, so a failure is logged and the next tick tries again.
        try:
            await _report_lag(app, metrics, settings.consumer_group, progress)
        except Exception:
            log.exception("reporting consumer lag failed; retrying at the next tick")

    @app.task  # type: ignore[untyped-decorator]
    async def start_publisher() -> None:
        # Not idempotent: Tansu answers InitProducerId with an error for aiokafka, and a
        # resent view change is harmless on a compacted topic (same key, same value).
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap,
            acks="all",
            linger_ms=2,
            **_aiokafka_security(settings),
        )
        await producer.start()
        holder["producer"] = producer
        try:
            await publisher.run()
        finally:
            await producer.stop()

    return app


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


def _aiokafka_security(settings: Settings) -> dict[str, Any]:
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


def _lag_labels(metrics: MergeMetrics) -> list[tuple[str, str, str]]:
    """Label values (group, topic, partition) of the lag series reported so far."""
    return [
        (s.labels["group"], s.labels["topic"], s.labels["partition"])
        for family in metrics.consumer_lag.collect()
        for s in family.samples
    ]


async def _process_until_committed(
    processor: MergeProcessor, messages: list[Message]
) -> BatchOutcome:
    """Retry the batch until it commits: faust acks the batch once we return or raise,
    so giving up here would lose its events (an unexpected error is retried too, loudly)."""
    delay = 0.2
    while True:
        try:
            return await asyncio.to_thread(processor.process, messages)
        except SQLAlchemyError as exc:
            log.error(
                "view store write failed (%s); retrying the batch in %.1fs",
                type(exc).__name__,
                delay,
            )
        except Exception:
            log.exception("merging a batch failed; retrying it in %.1fs", delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


async def _dead_letter(
    producer: AIOKafkaProducer, outcome: BatchOutcome, metrics: MergeMetrics
) -> None:
    for message, reason in outcome.rejects:
        department = message.topic.split(".")[1] if message.topic.count(".") >= 2 else "unknown"
        headers = [
            (REASON_HEADER + "reason", reason.encode()),
            (REASON_HEADER + "code", b"undecodable"),
            (REASON_HEADER + "source", message.topic.encode()),
            (REASON_HEADER + "position", f"{message.partition}:{message.offset}".encode()),
        ]
        await producer.send_and_wait(
            dlq_topic(department), value=message.value, key=message.key, headers=headers
        )
        metrics.events.labels("-", department, "rejected").inc()
        metrics.dead_letters.labels(department, "undecodable").inc()
        log.warning(
            "dead-lettered %s[%d]@%d: %s", message.topic, message.partition, message.offset, reason
        )


@dataclass
class _Progress:
    """Per partition: the last offset merged, and the first offset of a batch not yet merged."""

    merged: dict[TP, int] = field(default_factory=dict)
    waiting: dict[TP, int] = field(default_factory=dict)

    def forget(self, partitions: Iterable[TP]) -> None:
        for tp in partitions:
            self.merged.pop(tp, None)
            self.waiting.pop(tp, None)

    def next_offset(self, tp: TP) -> int | None:
        done = self.merged.get(tp)
        return done + 1 if done is not None else self.waiting.get(tp)


async def _report_lag(
    app: faust.App, metrics: MergeMetrics, group: str, progress: _Progress
) -> None:
    """Lag of every assigned partition, refreshed on a timer so a stalled worker shows it.

    The high watermark comes from fetch responses (correct on Tansu, unlike ListOffsets);
    before a batch of a partition is seen here, the fetch position stands in.
    """
    assigned = app.consumer.assignment()
    # Revoked in a rebalance: its lag is another worker's to report now.
    progress.forget([tp for tp in [*progress.merged, *progress.waiting] if tp not in assigned])
    for topic, partition in {(t, p) for _, t, p in _lag_labels(metrics)}:
        if TP(topic, int(partition)) not in assigned:
            metrics.consumer_lag.remove(group, topic, partition)
    for tp in sorted(assigned):
        lag = await _partition_lag(app, tp, progress)
        if lag is not None:
            metrics.consumer_lag.labels(group, tp.topic, str(tp.partition)).set(lag)


async def _partition_lag(app: faust.App, tp: TP, progress: _Progress) -> int | None:
    """Records behind on one partition, or None when unknown or no longer ours.

    A rebalance can revoke the partition while this awaits (or between faust's view of the
    assignment and aiokafka's): aiokafka then raises, and the partition is simply skipped.
    """
    try:
        highwater = app.consumer.highwater(tp)
        if highwater is None:
            return None
        next_offset = progress.next_offset(tp)
        if next_offset is None:
            next_offset = await asyncio.wait_for(app.consumer.position(tp), LAG_POSITION_WAIT_S)
    except (AssertionError, IllegalStateError, TimeoutError):
        return None  # aiokafka asserts an assignment it no longer has; not an error of ours
    return None if next_offset is None else max(0, highwater - next_offset)
