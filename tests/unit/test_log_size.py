"""Sizing events as a Kafka log stores them: Kafka's record format v2, counted by hand."""

from __future__ import annotations

from services.log_size import LoggedRecord, topic_size

BATCH_HEADER = 61  # base offset 8, length 4, epoch 4, magic 1, crc 4, ... records count 4


def _record(partition: int = 0, value: bytes = b"v" * 50) -> LoggedRecord:
    return LoggedRecord(partition, 1_700_000_000_000, b"k" * 10, value, [])


def test_an_event_alone_costs_a_batch_header_and_its_record() -> None:
    # attributes 1, timestamp delta 1, offset delta 1, key length 1 + 10, value length
    # 1 + 50, header count 1: 66 bytes, whose zigzag varint length takes 2 more.
    size = topic_size("src.x", [_record()])

    assert size.records == 1
    assert size.value_bytes == 50
    assert size.single_log_bytes == size.bulk_log_bytes == BATCH_HEADER + 68


def test_events_batched_together_share_one_header_per_partition() -> None:
    records = [_record(partition=p) for p in (0, 0, 0, 1, 1)]

    size = topic_size("src.x", records)

    assert size.single_log_bytes == 5 * (BATCH_HEADER + 68)
    assert size.bulk_log_bytes == 2 * BATCH_HEADER + 5 * 68


def test_a_full_batch_starts_the_next_one() -> None:
    records = [_record() for _ in range(10)]

    size = topic_size("src.x", records, batch_bytes=BATCH_HEADER + 3 * 68)

    # Three records to a batch: four batches for ten.
    assert size.bulk_log_bytes == 4 * BATCH_HEADER + 10 * 68


def test_a_million_events_are_counted_in_megabytes_per_replica() -> None:
    size = topic_size("src.x", [_record()])

    assert size.per_million_mb(size.bulk_log_bytes) == 129.0
    assert size.per_million_mb(size.bulk_log_bytes, replicas=3) == 387.0
