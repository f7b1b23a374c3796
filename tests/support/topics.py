"""Reading the real broker's topics back in tests (and planting a record on one)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas.catalog import Catalog
from services.topics import ensure_topics, topic_specs


@dataclass(frozen=True)
class Consumed:
    """One record read back from a topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


def read_topic(
    bootstrap: str, topic: str, expect: int, timeout_s: float = 30.0, settle_s: float = 1.0
) -> list[Consumed]:
    """Every record of ``topic`` from the beginning; waits for at least ``expect`` of them.

    Reads until ``expect`` records arrived and then ``settle_s`` more with nothing new
    (the embedded broker's end offsets cannot be trusted to say "that was all").
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=200
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        deadline = time.monotonic() + timeout_s
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[Consumed] = []
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=200)
            for messages in batch.values():
                for m in messages:
                    records.append(
                        Consumed(
                            m.topic, m.partition, m.offset, m.key, m.value, dict(m.headers or [])
                        )
                    )
                    last_new = time.monotonic()
            if len(records) >= expect and time.monotonic() - last_new >= settle_s:
                break
        return records
    finally:
        consumer.close()


def records_on(bootstrap: str, topic: str, expect: int = 0) -> list[Consumed]:
    """``read_topic``, where a topic nobody created yet holds no record."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        exists = topic in consumer.topics()
    finally:
        consumer.close()
    return read_topic(bootstrap, topic, expect) if exists else []


def plant_record(bootstrap: str, partitions: int, topic: str, headers: dict[str, str]) -> None:
    """One record with ``headers`` on ``topic`` (created first as the hub creates its
    topics), standing for history older than anything a test's connector publishes."""
    ensure_topics(bootstrap, topic_specs(Catalog.load(), partitions))
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        encoded = [(name, value.encode()) for name, value in headers.items()]
        producer.send(topic, b"planted", b"planted", headers=encoded).get(timeout=30)
    finally:
        producer.close()
