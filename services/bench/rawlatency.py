"""The limit of event-to-view latency: produce -> broker -> consume with aiokafka alone.

faust's aiokafka driver asks for fetches that wait up to 1.5 s for data
(faust/transport/drivers/aiokafka.py), aiokafka's own default is 0.5 s, and the
embedded broker lets a fetch wait out much of that even when records arrive meanwhile.
The consumer's fetch wait is then a floor under any consumer's latency, so the raw
limit is measured at both waits: the first is what the broker can do, the second what
any faust agent can do on it.

Each limit is paced at the rate datong's run reached, by the same sender process, one
wait after the other: the broker carries the same load as it did for the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.bench.sender import Offered, Sender, payload_args
from services.bench.stats import Latencies, timed
from services.setting_defaults import DEFAULT_FETCH_WAIT_MS

AIOKAFKA_FETCH_WAIT_MS = 500  # aiokafka's default
# The merge worker's own (``DATONG_FETCH_WAIT_MS``): the fair limit of its latency.
WORKER_FETCH_WAIT_MS = DEFAULT_FETCH_WAIT_MS
FETCH_WAITS = (WORKER_FETCH_WAIT_MS, AIOKAFKA_FETCH_WAIT_MS)
DRAIN_TIMEOUT_S = 60.0


def topic_for(fetch_wait_ms: int) -> str:
    """The fresh topic the raw run at ``fetch_wait_ms`` uses."""
    return f"bench.latency.fetch-wait-{fetch_wait_ms}ms"


@dataclass(frozen=True)
class RawLoad:
    """What the raw limits send: the payload file, at what rate, for how long."""

    bootstrap: str
    partitions: int
    payloads: Path  # ``producers.write_payloads``'s file
    rate: float
    seconds: float
    tmp: Path  # where the senders' logs go


async def _raw_latency(load: RawLoad, topic: str, fetch_wait_ms: int) -> Latencies:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=load.bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=fetch_wait_ms,
    )
    await consumer.start()
    received: dict[str, float] = {}
    offered: Offered | None = None
    try:
        assigned = [TopicPartition(topic, p) for p in range(load.partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)

        async def receive() -> None:
            while offered is None or not offered.sent.keys() <= received.keys():
                batches = await consumer.getmany(timeout_ms=100)
                now = time.time()
                for batch in batches.values():
                    for message in batch:
                        received.setdefault(message.key.decode(), now)

        receiver = asyncio.create_task(receive())
        sender = Sender(
            load.bootstrap,
            load.rate,
            load.seconds,
            payload_args(load.payloads, topic),
            log=load.tmp / f"raw-sender-{fetch_wait_ms}ms.log",
        )
        try:
            offered = await asyncio.to_thread(sender.wait, load.seconds + DRAIN_TIMEOUT_S)
        finally:
            sender.stop()
        with contextlib.suppress(TimeoutError):  # what did not arrive is counted as lost
            await asyncio.wait_for(receiver, DRAIN_TIMEOUT_S)
        gave_up_at = time.time()
    finally:
        await consumer.stop()
    assert offered is not None, "set once the sender finished"
    return timed(
        offered.sent, [received], gave_up_at=gave_up_at, offered=load.rate, reached=offered.reached
    )


def raw_latency(load: RawLoad, topics: Mapping[int, str]) -> dict[int, Latencies]:
    """Send the payloads at ``load.rate`` and time each one's arrival at a raw consumer.

    One run per entry of ``topics`` (consumer fetch wait in ms -> a fresh topic), one
    after the other. Each consumer is assigned its topic's partitions before the first
    send, so no group join is timed; keys are unique, so arrival is matched per message.
    """
    return {wait: asyncio.run(_raw_latency(load, topic, wait)) for wait, topic in topics.items()}
