"""What source events cost on a Kafka log: records rebuilt into the batches a broker stores.

A Kafka log segment holds record batches exactly as producers send them (format v2: a
61-byte batch header, then per record its varint lengths, key, value and headers), so
the bytes a topic takes on disk follow from its records and how they were batched. Two
batchings bound the cost: a connector reading an export fills batches up to the
producer's ``batch_size`` (``schemas/producing.py``), while events pushed one at a time
each travel in a batch of their own. Pure: it takes records, never a broker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kafka.record.default_records import DefaultRecordBatchBuilder

from schemas.producing import KAFKA_PYTHON_OPTIONS

PER_MILLION = 1_000_000
# Kafka's offset and time indexes take an entry per 4 KiB of log (index.interval.bytes):
# 8 + 12 bytes per 4096, half a percent, left out of the figures.
_MAGIC_V2 = 2
_NO_COMPRESSION = 0


@dataclass(frozen=True)
class LoggedRecord:
    """One record as a topic holds it."""

    partition: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class TopicSize:
    """What a topic's records take: their Avro payloads, and the log in both batchings."""

    topic: str
    records: int
    value_bytes: int
    bulk_log_bytes: int  # batches filled up to the producer's batch_size (an export)
    single_log_bytes: int  # every record a batch of its own (events pushed one by one)

    def per_event(self, total: int) -> float:
        """``total`` bytes shared by the topic's records."""
        return total / self.records if self.records else 0.0

    def per_million_mb(self, total: int, replicas: int = 1) -> float:
        """Megabytes (10^6 bytes) a million such events take on ``replicas`` brokers."""
        return self.per_event(total) * PER_MILLION * replicas / 1e6


def topic_size(
    topic: str,
    records: Iterable[LoggedRecord],
    batch_bytes: int = KAFKA_PYTHON_OPTIONS["batch_size"],
) -> TopicSize:
    """The size of ``records`` of ``topic`` (in offset order per partition) on a Kafka log."""
    by_partition: dict[int, list[LoggedRecord]] = defaultdict(list)
    for record in records:
        by_partition[record.partition].append(record)
    every = [r for partition in sorted(by_partition) for r in by_partition[partition]]
    return TopicSize(
        topic,
        len(every),
        sum(len(r.value or b"") for r in every),
        sum(_log_bytes(rs, batch_bytes) for rs in by_partition.values()),
        sum(_log_bytes([r], batch_bytes) for r in every),
    )


def _log_bytes(records: Sequence[LoggedRecord], batch_bytes: int) -> int:
    """The bytes of ``records`` appended to batches of at most ``batch_bytes``, in order."""
    total, builder, offset = 0, _builder(batch_bytes), 0
    for record in records:
        headers = list(record.headers)
        if builder.append(offset, record.timestamp_ms, record.key, record.value, headers) is None:
            total += len(builder.build())  # full: the producer starts the next batch
            builder, offset = _builder(batch_bytes), 0
            builder.append(offset, record.timestamp_ms, record.key, record.value, headers)
        offset += 1
    return total + (len(builder.build()) if offset else 0)


def _builder(batch_bytes: int) -> DefaultRecordBatchBuilder:
    # The connectors' producer is idempotent: its batches carry a producer id and sequence,
    # which take the same fixed header bytes as the "none" values.
    return DefaultRecordBatchBuilder(
        _MAGIC_V2, _NO_COMPRESSION, False, 0, 0, 0, batch_size=batch_bytes
    )
