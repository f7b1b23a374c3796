"""A fixed offered load, sent with aiokafka: the same pacing for datong's path and its limit.

Both latency runs of a load (through the merge worker, and through the broker alone)
send with this one producer setup and pacing, so their ratio is what lies between the
broker and the view store, not a difference between producers. The loads run in a
process of their own (``sender.py``); the warm-ups, one record each, from the bench.
The connector's own producer is measured in the publish-rate figure; here it could not
offer 5,000/s on a shared core.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from services.bench.stats import sent_rate

LATE_S = 1.0


@dataclass(frozen=True)
class Record:
    """One record to send: topic, key, value and headers."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


async def offer(
    bootstrap: str,
    total: int,
    rate: float,
    record: Callable[[int], Record],
    sent: Callable[[bytes, float], None],
) -> float:
    """Send ``record(i)`` for i in 0..total-1 at ``rate``/s (acks=all); return the rate reached.

    ``sent(key, epoch seconds)`` is called just before each send; everything is
    flushed before this returns. A sender that falls behind stops when the load's time
    is up (plus ``LATE_S``) rather than stretch the run: the rate reached says so.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        started = time.perf_counter()
        deadline = started + total / rate + LATE_S
        count, first, last = 0, started, started
        for i in range(total):
            now = time.perf_counter()
            if now > deadline:
                break
            if started + i / rate > now:
                await asyncio.sleep(started + i / rate - now)
            r = record(i)
            last = time.perf_counter()
            first = last if count == 0 else first
            sent(r.key, time.time())
            await producer.send(r.topic, value=r.value, key=r.key, headers=r.headers)
            count += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent_rate(count, first, last)
