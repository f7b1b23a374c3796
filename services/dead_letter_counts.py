"""How many dead letters each department's topic holds, counted on the topics themselves.

``datong status`` used the connectors' counters, which only a connector under ``--watch``
serves: a one-off run's rejects never showed. The topics hold every dead letter that has
not expired, whoever wrote it. Each partition is read to the high watermark of its fetch
responses (exact; the embedded broker's ListOffsets answer is too low to count with).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.catalog import dlq_topic
from services.errors import BrokerError


def count_dead_letters(
    bootstrap: str, departments: Iterable[str], timeout_s: float = 20.0, **client_options: object
) -> dict[str, int]:
    """Per department whose dead-letter topic exists, the records it holds now.

    BrokerError when Kafka cannot be reached or the count does not finish in ``timeout_s``.
    """
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
            bootstrap_timeout_ms=5000,  # a status at a glance: an absent broker is one line
            **client_options,
        )
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        return _count(consumer, list(departments), timeout_s)
    except KafkaError as exc:
        raise BrokerError(f"counting dead letters on {bootstrap} failed: {exc}") from exc
    finally:
        consumer.close()


def _count(consumer: KafkaConsumer, departments: list[str], timeout_s: float) -> dict[str, int]:
    by_topic = {dlq_topic(d): d for d in departments}
    tps = [
        TopicPartition(topic, partition)
        for topic in by_topic
        for partition in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    counts = {by_topic[tp.topic]: 0 for tp in tps}
    if not tps:
        return counts
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    remaining, deadline = set(tps), time.monotonic() + timeout_s
    while remaining:
        if time.monotonic() > deadline:
            raise BrokerError(f"counting dead letters did not finish in {timeout_s:g} s")
        for tp, messages in consumer.poll(timeout_ms=200).items():
            counts[by_topic[tp.topic]] += len(messages)
        remaining = {tp for tp in remaining if not _caught_up(consumer, tp)}
    return dict(sorted(counts.items()))


def _caught_up(consumer: KafkaConsumer, tp: TopicPartition) -> bool:
    highwater = consumer.highwater(tp)
    return highwater is not None and consumer.position(tp) >= highwater
