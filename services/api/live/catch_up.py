"""A client's catch-up: the changes it missed beyond the feed's replay buffer, read back
from the view topic with a Kafka consumer of its own, up to the offsets the hub's shared
consumer has actually fetched (``hub.py``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from services.api.live.changes import Change, TopicRecord
from services.api.live.fanout import ViewFeed
from services.errors import DatongError

POLL_MS = 200  # how long a poll waits, on the hub's shared consumer and on a catch-up's
_CATCH_UP_IDLE_S = 30.0


class SubscriptionError(DatongError):
    """The hub cannot follow the view topics (the broker does not answer)."""


async def read_back(
    topic: str,
    ranges: Mapping[int, tuple[int, int]],
    *,
    feed: ViewFeed,
    new_consumer: Callable[[], KafkaConsumer],
    decode: Callable[[str, TopicRecord], Change | None],
    count_consumers: Callable[[int], None],
) -> AsyncIterator[Change]:
    """Read ``[start, end)`` of each partition of ``topic`` with a consumer of this client's
    own (``new_consumer``), counted in the hub's consumers while it is open."""
    consumer = await asyncio.to_thread(new_consumer)
    count_consumers(1)
    try:
        wanted = {TopicPartition(topic, p): r for p, r in ranges.items()}
        consumer.assign(list(wanted))
        for tp, (start, _) in wanted.items():
            consumer.seek(tp, start)
        idle_since = time.monotonic()
        while wanted:
            changes, done = await asyncio.to_thread(_read_some, consumer, wanted, decode)
            for tp in done:
                del wanted[tp]
            consumer.pause(*done)
            if changes:
                idle_since = time.monotonic()
            elif wanted and time.monotonic() - idle_since > _CATCH_UP_IDLE_S:
                raise SubscriptionError(
                    f"reading {topic} back made no progress for {_CATCH_UP_IDLE_S:.0f} s"
                )
            for change in changes:
                previous = change.previous_community or feed.community_of(change.key)
                # Only a tombstone needs to know where its row was.
                yield (
                    replace(change, previous_community=previous)
                    if change.record is None
                    else change
                )
    finally:
        await asyncio.to_thread(consumer.close)
        count_consumers(-1)


def _read_some(
    consumer: KafkaConsumer,
    wanted: Mapping[Any, tuple[int, int]],
    decode: Callable[[str, TopicRecord], Change | None],
) -> tuple[list[Change], list[Any]]:
    batch = consumer.poll(timeout_ms=POLL_MS)
    changes = []
    for tp, records in batch.items():
        end = wanted[tp][1] if tp in wanted else -1
        for record in records:
            if record.offset < end:
                change = decode(tp.topic, record)
                if change is not None:
                    changes.append(change)
    done = [tp for tp, (_, end) in wanted.items() if consumer.position(tp) >= end]
    return changes, done
