"""A fixed offered load, sent with aiokafka: the same sender for datong's path and its limit.

Both latency runs of a load (through the merge worker, and through the broker alone)
send with this one producer setup and pacing, so their ratio is what lies between the
broker and the view store, not a difference between producers. The connector's own
producer is measured in the publish-rate figure; here it could not offer 5,000/s on a
shared core (kafka-python computes the CRC-32C of each batch in Python).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

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
    """Send ``record(i)`` for i in 0..total-1 at ``rate``/s (acks=all); return the rate achieved.

    ``sent(key, epoch seconds)`` is called just before each send; everything is
    flushed before this returns. A sender that falls behind stops when the load's time
    is up (plus ``LATE_S``) rather than stretch the run: the achieved rate says so.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        started = time.perf_counter()
        deadline = started + total / rate + LATE_S
        count = 0
        for i in range(total):
            now = time.perf_counter()
            if now > deadline:
                break
            if started + i / rate > now:
                await asyncio.sleep(started + i / rate - now)
            r = record(i)
            sent(r.key, time.time())
            await producer.send(r.topic, value=r.value, key=r.key, headers=r.headers)
            count += 1
        achieved = count / max(time.perf_counter() - started, 1e-9)
        await producer.flush()
    finally:
        await producer.stop()
    return achieved
