"""What connectors already published, read back from their topics with a consumer of
their own (``publisher.py``'s ``read_back``, ``published_origins`` and ``log_ends``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from connectors.checkpoints import Offsets
from connectors.errors import PublishError


class PublishedLog:
    """Reads the topics a publisher writes, from given offsets up to their ends."""

    def __init__(self, bootstrap: str, connection: dict[str, Any]) -> None:
        self._bootstrap = bootstrap
        self._connection = connection  # the client's TLS and SASL options

    def ends(self, topics: Iterable[str]) -> Offsets:
        """A lower bound of each partition's log end (ListOffsets; exact on Apache Kafka).

        The embedded broker answers below the real end, which only makes a read back
        from here start earlier than needed: safe, never used to decide "all read".
        """
        with self._consumer() as consumer:
            tps = _partitions(consumer, topics)
            try:
                ends = consumer.end_offsets(tps) if tps else {}
            except KafkaError as exc:
                raise PublishError(f"cannot ask Kafka for log end offsets: {exc}") from exc
        offsets: Offsets = {}
        for tp, offset in ends.items():
            offsets.setdefault(tp.topic, {})[tp.partition] = int(offset)
        return offsets

    def scan(
        self,
        since: Offsets,
        topics: Iterable[str],
        collect: Callable[[dict[str, bytes]], None],
        what: str,
        timeout_s: float,
    ) -> None:
        """Hand every record's headers on ``topics`` from ``since`` to ``collect``, up to
        each partition's high watermark (from the fetch responses: exact)."""
        with self._consumer() as consumer:
            tps = _partitions(consumer, topics)
            if not tps:
                return
            consumer.assign(tps)
            for tp in tps:
                start = since.get(tp.topic, {}).get(tp.partition)
                if start is None:
                    consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, start)
            remaining, deadline = set(tps), time.monotonic() + timeout_s
            while remaining:
                if time.monotonic() > deadline:
                    raise PublishError(f"{what} did not finish in {timeout_s}s")
                for messages in consumer.poll(timeout_ms=200).values():
                    for message in messages:
                        collect(dict(message.headers or ()))
                remaining = {tp for tp in remaining if not _caught_up(consumer, tp)}

    def _consumer(self) -> KafkaConsumer:
        try:
            return KafkaConsumer(
                bootstrap_servers=self._bootstrap,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=100,
                **self._connection,
            )
        except KafkaError as exc:
            raise PublishError(f"cannot connect to Kafka at {self._bootstrap}: {exc}") from exc


def _partitions(consumer: KafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    return [
        TopicPartition(topic, partition)
        for topic in topics
        for partition in sorted(consumer.partitions_for_topic(topic) or ())
    ]


def _caught_up(consumer: KafkaConsumer, tp: TopicPartition) -> bool:
    highwater = consumer.highwater(tp)
    return highwater is not None and consumer.position(tp) >= highwater
