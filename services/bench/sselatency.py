"""Event-to-SSE latency at 1,000 events/s, beside the same events' arrival in the store and
on the view topic.

A broker, a SQLite store, a merge worker and ``datong api`` of its own (as each latency
load has), so no backlog of an earlier step is in its way. ``SUBSCRIBERS`` clients
subscribe to ``GET /subscribe/resident_profile`` with an audience token; new
registrations then go at 1,000/s from the offered-load sender process of the
event-to-view figure (``sender.py``), and each event is timed from its send, three ways
at once (a figure is named by the rate the sender reached):

* its ``change`` event on every subscriber's stream: the figure;
* its row becoming visible in the store (``visibility.VisibilityPoller``, as the
  event-to-view figure times it): the ratio is what the outbox, the view topic and the
  API's subscription path add to a view change, and the issue's target is the
  difference, at most 100 ms at p50;
* its view record arriving at raw aiokafka reading ``view.resident_profile`` with the
  fetch wait of the API's subscription consumer: the ratio is what the API adds over
  reading the topic (its consumer, the fan-out, the policy filter, the HTTP stream).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.serde import Serde
from services.bench import connector, http_load, processes
from services.bench.context import VIEW, Run
from services.bench.offered import Record, offer
from services.bench.report import OVER_LIMIT, Detail, Figure, Target
from services.bench.sender import Offered, Sender, live_args
from services.bench.stats import Latencies, timed
from services.bench.subscribers import Subscriber
from services.bench.visibility import VisibilityPoller
from services.broker import EmbeddedBroker, free_port
from services.setting_defaults import DEFAULT_SUBSCRIBE_FETCH_WAIT_MS
from services.store.database import create_engine
from services.store.registry_store import SqlRegistry
from services.topics import ensure_topics, topic_specs

RATE = 1_000.0
SUBSCRIBERS = 4
# The fetch wait of the API's one subscription consumer (services/api/live/hub.py), which
# the bench's API runs with its default.
VIEW_FETCH_WAIT_MS = DEFAULT_SUBSCRIBE_FETCH_WAIT_MS
CHECK_INTERVAL_S = 0.1
DRAIN_TIMEOUT_S = 60.0  # how long the last event sent may take to reach every reader
# The target: a change reaches a subscriber at most 100 ms (p50) after its row
# became visible.
OVER_VIEW_P50_MS = 100.0


@dataclass(frozen=True)
class Measured:
    """The three timings of one run's events."""

    sse: Latencies
    view: Latencies
    topic: Latencies


def event_to_sse_latency(run: Run) -> None:
    """Offer 1,000 events/s through a worker and ``datong api``; add the SSE figures."""
    tmp = run.tmp / "sse"
    tmp.mkdir()
    url = f"sqlite:///{tmp / 'views.db'}"
    with EmbeddedBroker(free_port(), log_path=tmp / "broker.log") as broker:
        ensure_topics(broker.bootstrap, topic_specs(run.catalog, run.sizes.partitions))
        processes.prepare_store(url, run.catalog)
        token = http_load.reader_token(url)
        worker = processes.Worker(run.env(url, "sse-worker", broker.bootstrap), tmp / "worker.log")
        api = processes.Api(run.env(url, "sse-api", broker.bootstrap), tmp / "api.log")
        try:
            api.wait_ready(60.0)
            hub = Hub(broker.bootstrap, url, token, worker, api)
            measured = asyncio.run(_measure(run, hub))
        finally:
            api.stop()
            worker.stop()
    sse, view, topic = measured.sse, measured.view, measured.topic
    detail: Detail = {
        "offered_per_s": sse.offered_rate,
        "reached_per_s": round(sse.achieved_rate, 1),
        "subscribers": SUBSCRIBERS,
        "audience": http_load.AUDIENCE,
        "samples": sse.samples,
        "not_on_a_stream_in_time": sse.lost,
        "not_visible_in_time": view.lost,
        "not_on_the_topic_in_time": topic.lost,
        "store": "SQLite",
    }
    name = f"event-to-SSE latency at {sse.achieved_rate:,.0f}/s reached"
    view_limit = "event-to-view latency, same events"
    limits = (
        (view_limit, view),
        (f"raw aiokafka reading view.{VIEW}, fetch wait {VIEW_FETCH_WAIT_MS} ms", topic),
    )
    for stat in ("p50", "p99", "max"):
        for label, limit in limits:
            over_view = stat == "p50" and label == view_limit
            run.report.figures.append(
                Figure(
                    f"{name} {stat}",
                    getattr(sse, stat) * 1000,
                    label,
                    getattr(limit, stat) * 1000,
                    "ms",
                    Target(OVER_VIEW_P50_MS, OVER_LIMIT) if over_view else None,
                    detail,
                    lost=sse.lost,
                    reached=sse.achieved_rate,
                )
            )


@dataclass(frozen=True)
class Hub:
    """What one run goes through: the broker, the store, the worker and the API."""

    bootstrap: str
    database_url: str
    token: str
    worker: processes.Worker
    api: processes.Api


async def _measure(run: Run, hub: Hub) -> Measured:
    """Subscribe, warm up, offer the load and wait for every event everywhere it goes."""
    engine = create_engine(hub.database_url)
    hmac_key = secrets.token_bytes(32)
    live = connector.LiveRegistrations(Serde(run.catalog, SqlRegistry(engine)), hmac_key, run.seed)
    first = 10 * run.sizes.events + 1  # residents the export does not have
    timers = _Timers(run, hub)
    try:
        with run.timed("sse: worker start, subscriptions and warm-up"):
            await timers.start()
            await timers.warm_up(live.record(first), run.timeout())
        with run.timed("sse: through the worker and the API"):
            seconds = run.sizes.latency_seconds
            sender = Sender(
                hub.bootstrap,
                RATE,
                seconds,
                live_args(hub.database_url, hmac_key, run.seed, first + 1),
                log=hub.api.log.with_name("sender.log"),
                on_sent=timers.poller.sent,
            )
            try:
                offered = await asyncio.to_thread(sender.wait, seconds + run.timeout())
            finally:
                sender.stop()
            await timers.drain(offered)
            gave_up_at = time.time()
    finally:
        await timers.stop()
        engine.dispose()
    return timers.latencies(offered, gave_up_at)


class _Timers:
    """Everything that times the run's events: the subscribers, the topic and the store."""

    def __init__(self, run: Run, hub: Hub) -> None:
        contract = run.catalog.view(VIEW)
        self._hub = hub
        self.subscribers = [
            Subscriber(f"/subscribe/{VIEW}", contract.key_field) for _ in range(SUBSCRIBERS)
        ]
        self.topic = ViewTopicReader(hub.bootstrap, contract.topic, run.sizes.partitions)
        self.poller = VisibilityPoller(hub.database_url, VIEW, run.sizes.partitions)
        self._polling = False
        self._visible: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Subscribe every subscriber and start reading the topic."""
        self._session = aiohttp.ClientSession(
            base_url=self._hub.api.url,
            headers=http_load.request_headers(self._hub.token),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10.0),
        )
        await self.topic.start()
        self._tasks = [asyncio.create_task(s.read(self._session)) for s in self.subscribers]
        self._tasks.append(asyncio.create_task(self.topic.read()))
        if not await self._until(lambda: all(s.subscribed.is_set() for s in self.subscribers), 60):
            raise processes.BenchError(f"{SUBSCRIBERS} subscriptions were not registered in 60 s")

    async def warm_up(self, record: Record, timeout_s: float) -> None:
        """Send one event and wait until every reader got it: the whole path is running.
        Only then does the store's poller start, so the warm-up row is not timed."""
        await offer(self._hub.bootstrap, 1, RATE, lambda _: record, lambda *_: None)
        key = record.key.decode()
        if not await self._until(lambda: all(key in a for a in self._arrivals), timeout_s):
            raise processes.BenchError(f"the warm-up change reached no stream in {timeout_s:g} s")
        self.poller.start()
        self._polling = True

    async def drain(self, offered: Offered) -> None:
        """Wait until every event arrived everywhere, or ``DRAIN_TIMEOUT_S`` passed (what
        did not arrive is counted as lost)."""
        sent = offered.sent.keys()
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        await self._until(lambda: all(sent <= a.keys() for a in self._arrivals), DRAIN_TIMEOUT_S)
        left = max(0.0, deadline - time.monotonic())
        await asyncio.to_thread(self.poller.wait_all, sent, left)

    async def stop(self) -> None:
        """Stop every reader (the store's poller keeps what it saw)."""
        if self._polling:
            self._visible = self.poller.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.topic.stop()
        if self._session is not None:
            await self._session.close()

    def latencies(self, offered: Offered, gave_up_at: float) -> Measured:
        """The run's order statistics, once stopped (a pair that never arrived ranks as the
        wait from the first send to ``gave_up_at``)."""

        def of(arrivals: list[dict[str, float]]) -> Latencies:
            return timed(
                offered.sent,
                arrivals,
                gave_up_at=gave_up_at,
                offered=offered.rate,
                reached=offered.reached,
            )

        return Measured(
            of([s.arrivals for s in self.subscribers]),
            of([self._visible]),
            of([self.topic.arrivals]),
        )

    @property
    def _arrivals(self) -> list[dict[str, float]]:
        return [s.arrivals for s in self.subscribers] + [self.topic.arrivals]

    async def _until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``done()``; raise if a process or a reader died. False on timeout."""
        deadline = time.monotonic() + timeout_s
        while not done():
            self._hub.worker.check_alive("the merge worker")
            self._hub.api.check_alive("the API")
            for task in self._tasks:
                if task.done():
                    task.result()  # raises what ended it
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(CHECK_INTERVAL_S)
        return True


class ViewTopicReader:
    """Raw aiokafka reading a view topic from its start: first arrival of each key."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.arrivals: dict[str, float] = {}
        self._bootstrap, self._topic, self._partitions = bootstrap, topic, partitions
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Connect and take every partition by hand (no group join to wait for)."""
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=VIEW_FETCH_WAIT_MS,
        )
        await self._consumer.start()
        assigned = [TopicPartition(self._topic, p) for p in range(self._partitions)]
        self._consumer.assign(assigned)
        await self._consumer.seek_to_beginning(*assigned)

    async def read(self) -> None:
        """Record arrivals until cancelled."""
        assert self._consumer is not None, "start() first"
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            now = time.time()
            for batch in batches.values():
                for message in batch:
                    if message.key is not None:
                        self.arrivals.setdefault(message.key.decode(), now)

    async def stop(self) -> None:
        """Disconnect."""
        if self._consumer is not None:
            await self._consumer.stop()
