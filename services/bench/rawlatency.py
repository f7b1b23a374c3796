"""The limit of event-to-view latency: produce -> broker -> consume with aiokafka alone.

faust's aiokafka driver asks for fetches that wait up to 1.5 s for data
(faust/transport/drivers/aiokafka.py), aiokafka's own default is 0.5 s, and the
embedded broker lets a fetch wait out much of that even when records arrive meanwhile.
The consumer's fetch wait is then a floor under any consumer's latency, so the raw
limit is measured at both waits: the first is what the broker can do, the second what
any faust agent can do on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.bench.latency import DRAIN_TIMEOUT_S, Latencies, order_statistics
from services.bench.offered import Record, offer

AIOKAFKA_FETCH_WAIT_MS = 500
FAUST_FETCH_WAIT_MS = 1500
FETCH_WAITS = (AIOKAFKA_FETCH_WAIT_MS, FAUST_FETCH_WAIT_MS)

Message = tuple[bytes, list[tuple[str, bytes]]]  # value, headers


def topic_for(fetch_wait_ms: int) -> str:
    """The fresh topic the raw run at ``fetch_wait_ms`` uses."""
    return f"bench.latency.fetch-wait-{fetch_wait_ms}ms"


async def _raw_latency(
    bootstrap: str,
    topic: str,
    partitions: int,
    messages: Sequence[Message],
    rate: float,
    *,
    fetch_wait_ms: int,
) -> Latencies:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=fetch_wait_ms
    )
    await consumer.start()
    sent: dict[bytes, float] = {}
    received: dict[bytes, float] = {}
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)

        sending = True  # until then, the count to wait for is not known

        async def receive() -> None:
            while sending or len(received) < len(sent):
                batches = await consumer.getmany(timeout_ms=100)
                now = time.time()
                for batch in batches.values():
                    for message in batch:
                        received.setdefault(message.key, now)

        def record(i: int) -> Record:
            value, headers = messages[i]
            key = f"{i:064d}".encode()  # as long as a person_key, unique per message
            return Record(topic, key, value, headers)

        receiver = asyncio.create_task(receive())
        achieved = await offer(bootstrap, len(messages), rate, record, sent.__setitem__)
        sending = False
        with contextlib.suppress(TimeoutError):  # what did not arrive is reported missing
            await asyncio.wait_for(receiver, DRAIN_TIMEOUT_S)
    finally:
        await consumer.stop()
    samples = [received[k] - t for k, t in sent.items() if k in received]
    return order_statistics(samples, len(sent) - len(samples), rate, achieved)


def raw_latency(
    bootstrap: str,
    topics: Mapping[int, str],
    partitions: int,
    messages: Sequence[Message],
    rate: float,
) -> dict[int, Latencies]:
    """Produce ``messages`` at ``rate`` with aiokafka and time each one's arrival at a consumer.

    One producer/consumer pair per entry of ``topics`` (consumer fetch wait in ms -> a
    fresh topic), all at once. Each consumer is assigned its topic's partitions before
    the first send, so no group join is timed; keys are unique, so arrival is matched
    per message.
    """

    async def run_all() -> dict[int, Latencies]:
        results = await asyncio.gather(
            *(
                _raw_latency(bootstrap, topic, partitions, messages, rate, fetch_wait_ms=wait)
                for wait, topic in topics.items()
            )
        )
        return dict(zip(topics, results, strict=True))

    return asyncio.run(run_all())
