"""The limits of the connector: raw producers sending the connector's encoded payloads.

Both producers get the tuning of ``KafkaPublisher`` (acks=all, idempotent, 5 ms linger),
so the ratio measures what our code adds per event (CSV parsing, mapping, pseudonymizing,
Avro encoding, checkpoints), not a difference in producer settings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol, cast

from confluent_kafka import KafkaError, Message, Producer
from kafka import KafkaProducer

from services.errors import DatongError

# The options KafkaPublisher passes to kafka-python (connectors/publisher.py).
KAFKA_PYTHON_OPTIONS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "batch_size": 256 * 1024,
    "max_in_flight_requests_per_connection": 5,
}
# The same intent in librdkafka's terms (its default batch size is already larger).
CONFLUENT_OPTIONS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "max.in.flight.requests.per.connection": 5,
}


class Sendable(Protocol):
    """A record to send: what ``connector.Payload`` holds."""

    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes: ...
    @property
    def value(self) -> bytes: ...
    @property
    def headers(self) -> list[tuple[str, bytes]]: ...


def bench_topic(client: str, topic: str) -> str:
    """Where a raw producer sends a source topic's records, apart from the real topic."""
    return f"bench.{client}.{topic}"


def kafka_python_seconds(bootstrap: str, payloads: Sequence[Sendable]) -> float:
    """Seconds for kafka-python to send every payload and flush."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, **KAFKA_PYTHON_OPTIONS)
    try:
        topics = {p.topic: bench_topic("kafka-python", p.topic) for p in payloads}
        started = time.perf_counter()
        futures = [
            producer.send(topics[p.topic], key=p.key, value=p.value, headers=p.headers)
            for p in payloads
        ]
        producer.flush(timeout=120)
        seconds = time.perf_counter() - started
    finally:
        producer.close()
    failed = sum(1 for f in futures if f.failed())
    if failed:
        raise DatongError(f"kafka-python: {failed} of {len(payloads)} records were not acked")
    return seconds


def confluent_seconds(bootstrap: str, payloads: Sequence[Sendable]) -> float:
    """Seconds for confluent-kafka (librdkafka) to send every payload and flush."""
    failures: list[KafkaError] = []

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(error)

    producer = Producer({"bootstrap.servers": bootstrap, **CONFLUENT_OPTIONS})
    # librdkafka connects in the background; kafka-python (and so the connector) connects
    # in its constructor. Wait for the connection here too, outside the timed part.
    producer.list_topics(timeout=30)
    topics = {p.topic: bench_topic("confluent-kafka", p.topic) for p in payloads}
    started = time.perf_counter()
    for p in payloads:
        while True:
            try:
                producer.produce(
                    topics[p.topic],
                    p.value,
                    p.key,
                    headers=cast("list[tuple[str, str | bytes | None]]", p.headers),
                    on_delivery=delivered,
                )
                break
            except BufferError:
                producer.poll(0.05)  # the local queue is full: let deliveries drain it
    left = producer.flush(120)
    seconds = time.perf_counter() - started
    if left or failures:
        first = failures[0] if failures else "flush timed out"
        raise DatongError(
            f"confluent-kafka: {left + len(failures)} of {len(payloads)} records "
            f"were not acked: {first}"
        )
    return seconds
