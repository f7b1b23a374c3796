"""The subscription hub: ONE Kafka consumer per API process, shared by every subscriber.

A thread tails every view topic from where it ends when the hub starts (partitions are
assigned by hand: no consumer group) and hands the decoded changes to the event loop,
where each view's ``ViewFeed`` fans them out. A client that resumes from an event id older
than the feed's replay buffer reads the gap back from the topic with a consumer of its own,
up to offsets the shared consumer has actually fetched: never up to the broker's "latest"
offset, which the embedded broker under-reports (ARCHITECTURE.md, "State lives in the view store").
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from schemas.errors import DecodeError
from schemas.serde import Serde
from services.api.live.access import RecordFilter
from services.api.live.catch_up import POLL_MS, SubscriptionError, read_back
from services.api.live.changes import Change, TopicRecord, decode_change
from services.api.live.event_ids import Position
from services.api.live.fanout import Backlog, Subscriber, ViewFeed
from services.errors import MissingTopicsError
from services.metrics import SubscriptionMetrics
from services.topics import TopicSpec, prepare_topics

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 15.0
_MAX_PENDING = 10_000  # live changes queued for one client before it is cut off
_COMMUNITY_MEMORY = 200_000  # keys per view whose community the feed remembers


@dataclass(frozen=True)
class HubConfig:
    """Where the view topics are and how the hub reads them."""

    bootstrap: str
    kafka_options: Mapping[str, Any]
    topics: Mapping[str, TopicSpec]  # view -> its topic
    key_fields: Mapping[str, str]  # view -> key field
    buffer_size: int
    fetch_wait_ms: int  # DATONG_SUBSCRIBE_FETCH_WAIT_MS: the broker may hold a fetch this long
    topics_mode: str  # DATONG_TOPICS: create the view topics, or only check they exist


@dataclass
class Subscription:
    """One client's subscription: what it missed, then the live changes."""

    subscriber: Subscriber
    backlog: Backlog
    _hub: SubscriptionHub

    def missed(self) -> AsyncGenerator[Change, None]:
        """The changes the client missed since its event id, oldest first per partition."""
        return self._hub.read_backlog(self.subscriber.view, self.backlog)

    def close(self) -> None:
        """Stop delivering to this client."""
        self._hub.unsubscribe(self.subscriber)


class SubscriptionHub:
    """Follows the view topics once per process and serves any number of subscribers."""

    def __init__(self, config: HubConfig, serde: Serde, metrics: SubscriptionMetrics) -> None:
        self._config = config
        self._serde = serde
        self._metrics = metrics
        self._views = {spec.name: view for view, spec in config.topics.items()}  # topic -> view
        self._feeds: dict[str, ViewFeed] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumers = 0
        self._trouble: str | None = None  # why the last attempt to read failed, if it did

    @property
    def views(self) -> Collection[str]:
        """The views the hub follows (one topic each)."""
        return self._config.topics.keys()

    @property
    def state(self) -> str:
        """How the shared consumer is doing, from its own last attempt (no probe of ours):
        "not started" (no subscriber yet), "following", or "retrying: <why>"."""
        if self._started is None:
            return "not started"
        trouble = self._trouble
        return "following" if trouble is None else f"retrying: {trouble}"

    @property
    def consumers(self) -> int:
        """How many Kafka consumers the hub holds now (one once started, plus catch-ups)."""
        return self._consumers

    async def subscribe(
        self,
        view: str,
        position: Position | None,
        community: str | None,
        record_filter: RecordFilter,
    ) -> Subscription:
        """Register a client from ``position`` (its ``Last-Event-ID``; None: from now)."""
        await self._ensure_started()
        subscriber, backlog = self._feeds[view].subscribe(
            position, community, record_filter, _MAX_PENDING
        )
        self._metrics.subscribers.labels(view).inc()
        return Subscription(subscriber, backlog, self)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a client (idempotent)."""
        feed = self._feeds.get(subscriber.view)
        if feed is not None and subscriber in feed.subscribers:
            if subscriber.overflowed:
                self._metrics.cut_off.labels(subscriber.view).inc()
            feed.unsubscribe(subscriber)
            self._metrics.subscribers.labels(subscriber.view).dec()

    async def read_backlog(self, view: str, backlog: Backlog) -> AsyncGenerator[Change, None]:
        """The buffered changes, then the ranges read back from the topic."""
        for change in backlog.buffered:
            yield change
        if backlog.from_topic:
            changes = read_back(
                self._config.topics[view].name,
                backlog.from_topic,
                feed=self._feeds[view],
                new_consumer=self._new_consumer,
                decode=self._decode,
                count_consumers=self._count_consumers,
            )
            async for change in changes:
                yield change

    async def close(self) -> None:
        """Stop the consumer thread and end every subscription."""
        self._stopping.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
        for feed in self._feeds.values():
            for subscriber in list(feed.subscribers):
                self.unsubscribe(subscriber)

    # --- the shared consumer ---------------------------------------------------------------

    async def _ensure_started(self) -> None:
        if self._started is None:
            self._loop = asyncio.get_running_loop()
            self._started = asyncio.Event()
            self._thread = threading.Thread(target=self._run, name="subscriptions", daemon=True)
            self._thread.start()
        try:
            await asyncio.wait_for(self._started.wait(), _START_TIMEOUT_S)
        except TimeoutError:
            raise SubscriptionError(
                f"cannot follow the view topics on {self._config.bootstrap} yet; is the "
                "broker up? (retry in a moment)"
            ) from None

    def _run(self) -> None:
        consumer: KafkaConsumer | None = None
        while not self._stopping.is_set():
            try:
                if consumer is None:
                    consumer = self._open()
                    continue
                batch = consumer.poll(timeout_ms=POLL_MS)
                self._trouble = None
                for records in batch.values():
                    # Each partition's changes go to the streams once decoded, without
                    # waiting for the rest of the fetch (up to 500 records) to be decoded.
                    changes = [
                        change
                        for record in records
                        if (change := self._decode(record.topic, record)) is not None
                    ]
                    if changes:
                        self._call(self._publish, changes)
            except MissingTopicsError as exc:  # DATONG_TOPICS=require and a view topic missing
                self._trouble = str(exc)
                log.error("cannot follow the view topics: %s; retrying in 5 s", exc)
                self._stopping.wait(5)
            except Exception as exc:
                # kafka-python reconnects by itself; a failed poll is retried, never hidden.
                self._trouble = f"{type(exc).__name__}: {exc}"
                log.exception("reading the view topics failed; retrying in 1 s")
                time.sleep(1)
        if consumer is not None:
            consumer.close()
            self._call(self._count_consumers, -1)

    def _open(self) -> KafkaConsumer:
        """Create (or require) the view topics, assign all their partitions, start at the end."""
        prepare_topics(
            self._config.topics_mode,
            self._config.bootstrap,
            list(self._config.topics.values()),
            **self._config.kafka_options,
        )
        consumer = self._new_consumer()
        try:
            partitions = []
            for spec in self._config.topics.values():
                found = consumer.partitions_for_topic(spec.name) or set()
                if not found:
                    raise SubscriptionError(f"topic {spec.name} has no partitions yet")
                partitions += [TopicPartition(spec.name, p) for p in sorted(found)]
            consumer.assign(partitions)
            # The embedded broker under-reports the end, so this may replay a few changes;
            # subscribers receive them as changes they had not seen, which is harmless.
            consumer.seek_to_end(*partitions)
            starts: dict[str, Position] = {view: {} for view in self._config.topics}
            for tp in partitions:
                starts[self._views[tp.topic]][tp.partition] = consumer.position(tp)
        except BaseException:
            consumer.close()
            raise
        self._call(self._count_consumers, 1)
        self._call(self._begin, starts)
        return consumer

    def _new_consumer(self) -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=self._config.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._config.fetch_wait_ms,
            **self._config.kafka_options,
        )

    def _decode(self, topic: str, record: TopicRecord) -> Change | None:
        view = self._views[topic]
        try:
            change = decode_change(self._serde, view, record)
        except (DecodeError, UnicodeDecodeError) as exc:
            log.error("skipping %s[%d]@%d: %s", topic, record.partition, record.offset, exc)
            self._metrics.changes.labels(view, "undecodable").inc()
            return None
        self._metrics.changes.labels(view, "read").inc()
        return change

    def _call(self, function: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(function, *args)

    # --- on the event loop -------------------------------------------------------------------

    def _begin(self, starts: Mapping[str, Position]) -> None:
        for view, start in starts.items():
            self._feeds[view] = ViewFeed(
                view,
                self._config.key_fields[view],
                start,
                self._config.buffer_size,
                _COMMUNITY_MEMORY,
            )
        assert self._started is not None
        self._started.set()
        log.info("subscriptions follow %s", ", ".join(s.name for s in self._config.topics.values()))

    def _publish(self, changes: list[Change]) -> None:
        for change in changes:
            self._feeds[change.view].publish(change)

    def _count_consumers(self, delta: int) -> None:
        self._consumers += delta
        self._metrics.consumers.set(self._consumers)
