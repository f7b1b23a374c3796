"""The limits of the connector: raw producers sending the connector's encoded payloads.

Both producers get the connector's own producer options (``schemas.producing``, which
``KafkaPublisher`` sends with), kafka-python as they are and librdkafka translated
option by option, so the ratio measures what our code adds per event (CSV parsing,
mapping, pseudonymizing, Avro encoding, checkpoints), not a difference in settings.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from confluent_kafka import KafkaError, Message, Producer
from kafka import KafkaProducer

from schemas.producing import KAFKA_PYTHON_OPTIONS
from services.errors import DatongError

# kafka-python's option names in librdkafka's terms, for every option the constant may hold.
LIBRDKAFKA_NAMES = {
    "acks": "acks",
    "enable_idempotence": "enable.idempotence",
    "linger_ms": "linger.ms",
    "batch_size": "batch.size",
    "max_in_flight_requests_per_connection": "max.in.flight.requests.per.connection",
    "compression_type": "compression.type",
    "retries": "retries",
    "retry_backoff_ms": "retry.backoff.ms",
    "request_timeout_ms": "request.timeout.ms",
    "delivery_timeout_ms": "delivery.timeout.ms",
    "max_request_size": "message.max.bytes",
}


def librdkafka_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` (kafka-python's names) under librdkafka's names.

    An option without a known counterpart is an error, not dropped: a tuning the
    confluent-kafka limit silently lacked would make its figure measure something else.
    """
    unknown = sorted(set(options) - set(LIBRDKAFKA_NAMES))
    if unknown:
        raise DatongError(f"no librdkafka name for the producer options {', '.join(unknown)}")
    # librdkafka spells "no compression" as a word where kafka-python takes None.
    return {
        LIBRDKAFKA_NAMES[name]: "none" if value is None and name == "compression_type" else value
        for name, value in options.items()
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

    producer = Producer(
        {"bootstrap.servers": bootstrap, **librdkafka_options(KAFKA_PYTHON_OPTIONS)}
    )
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


def write_payloads(path: Path, payloads: Iterable[Sendable]) -> None:
    """Write payloads to ``path`` for a raw producer process to stream back."""
    with open(path, "wb") as handle:
        for p in payloads:
            pickle.dump((p.topic, p.key, p.value, list(p.headers)), handle)


def read_payloads(path: Path) -> Iterator[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    """Stream what ``write_payloads`` wrote (the bench's own file: nothing untrusted)."""
    with open(path, "rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


def stream_kafka_python(bootstrap: str, path: Path) -> int:
    """Send every payload of ``path`` with kafka-python, one at a time, holding none; flush.

    Returns how many were not acked. This is the connector's memory limit: a process that
    does nothing but stream encoded records through the connector's producer client.
    """
    failed = 0

    def failure(_: BaseException) -> None:
        nonlocal failed
        failed += 1

    producer = KafkaProducer(bootstrap_servers=bootstrap, **KAFKA_PYTHON_OPTIONS)
    try:
        for topic, key, value, headers in read_payloads(path):
            future = producer.send(
                bench_topic("kafka-python", topic), key=key, value=value, headers=headers
            )
            future.add_errback(failure)
        producer.flush(timeout=120)
    finally:
        producer.close()
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m services.bench.producers --bootstrap B --payloads F``: exit 1 if any failed."""
    parser = argparse.ArgumentParser(prog="python -m services.bench.producers")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--payloads", type=Path, required=True)
    args = parser.parse_args(argv)
    failed = stream_kafka_python(args.bootstrap, args.payloads)
    if failed:
        print(f"kafka-python: {failed} records were not acked", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
