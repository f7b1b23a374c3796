"""``datong topics size``: what the source topics' events take on a Kafka log, measured.

It reads every record of every source topic on the configured broker (the events the
connectors published, Confluent-framed Avro with CloudEvents headers) and sizes them as a
Kafka log stores them (``services/log_size.py``). Run it after ``datong up --demo`` to
get the cost per million events that docs/operations.md quotes.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from services.errors import BrokerError
from services.log_size import LoggedRecord, TopicSize, topic_size
from services.settings import Settings

IDLE_S = 2.0  # the embedded broker under-reports a log's end: read until nothing comes


def add_topic_commands(sub: Any) -> None:
    """Add ``topics`` to the ``datong`` parser's subcommands."""
    topics = sub.add_parser("topics", help="the hub's Kafka topics")
    topics_sub = topics.add_subparsers(title="topics commands")
    size = topics_sub.add_parser(
        "size", help="measure the bytes per event of every source topic on the broker"
    )
    size.add_argument(
        "--replicas", type=int, default=3, help="copies each broker keeps (default 3)"
    )
    size.add_argument("--json", action="store_true", help="one JSON object per topic")
    size.set_defaults(handler=cmd_topics_size)


def cmd_topics_size(args: argparse.Namespace, settings: Settings) -> int:
    """``datong topics size``: a table of bytes per event and megabytes per million."""
    from schemas.catalog import Catalog

    topics = sorted(c.topic for c in Catalog.load() if c.kind == "source")
    records = _read(settings, topics)
    sizes = [topic_size(t, records[t]) for t in topics if records.get(t)]
    if not sizes:
        raise BrokerError(
            f"no source events on {settings.bootstrap}: feed it first (`datong up --demo`)"
        )
    if args.json:
        for s in sizes:
            print(json.dumps({**s.__dict__, "replicas": args.replicas}))
        return 0
    print(
        f"{'topic':<45} {'events':>7} {'Avro B':>7} {'log B':>7} {'alone B':>7}"
        f" {'MB/M':>7} {f'MB/M x{args.replicas}':>9}"
    )
    for s in [*sizes, _all(sizes)]:
        print(
            f"{s.topic:<45} {s.records:>7} {s.per_event(s.value_bytes):>7.0f}"
            f" {s.per_event(s.bulk_log_bytes):>7.0f} {s.per_event(s.single_log_bytes):>7.0f}"
            f" {s.per_million_mb(s.bulk_log_bytes):>7.0f}"
            f" {s.per_million_mb(s.bulk_log_bytes, args.replicas):>9.0f}"
        )
    print(
        "Avro B: the framed Avro value per event; log B: the event on a Kafka log, batched as "
        "a connector sends an export; alone B: each event in a batch of its own (one-by-one "
        "pushes); MB/M: megabytes per million events, batched, on one broker and on "
        f"{args.replicas}. Uncompressed; indexes add about 0.5%."
    )
    return 0


def _all(sizes: list[TopicSize]) -> TopicSize:
    return TopicSize(
        "all source topics",
        sum(s.records for s in sizes),
        sum(s.value_bytes for s in sizes),
        sum(s.bulk_log_bytes for s in sizes),
        sum(s.single_log_bytes for s in sizes),
    )


def _read(settings: Settings, topics: list[str]) -> dict[str, list[LoggedRecord]]:
    """Every record of ``topics``, read from the beginning until the broker goes quiet."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap,
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 << 20,
            **settings.kafka_options(),
        )
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from exc
    try:
        existing = consumer.topics()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in existing
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        found: dict[str, list[LoggedRecord]] = {}
        if not partitions:
            return found  # no source topic exists yet
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        last_new = time.monotonic()
        while time.monotonic() - last_new < IDLE_S:
            for tp, messages in consumer.poll(timeout_ms=200).items():
                found.setdefault(tp.topic, []).extend(
                    LoggedRecord(m.partition, m.timestamp, m.key, m.value, m.headers or [])
                    for m in messages
                )
                last_new = time.monotonic() if messages else last_new
        return found
    finally:
        consumer.close()
