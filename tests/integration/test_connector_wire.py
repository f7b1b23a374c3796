"""What the connector puts on the wire, record by record, against independent references.

A demo community's household-registry export (GB18030 CSV, its dirty rows included) goes
through the connector on the embedded broker. Every record it published must be what a
reader of the contracts expects, each part from a reference that is not the connector's:
the partition kafka-python's default partitioner picks for the key (the one every Kafka
client picks), the key, the Confluent frame around fastavro's own encoding of the row as
the plain reading of the mapping maps it (``tests/support/mapping_reference.py``), and the
CloudEvents and origin headers in order. Dead letters land where the same partitioner puts
their key, with the reason in clear. Within a partition, records follow the file.
"""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import fastavro
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import DefaultPartitioner
from prometheus_client import CollectorRegistry

from connectors.checkpoints import FileCheckpoints
from connectors.demo import generate
from connectors.errors import RecordError
from connectors.mappings import MAPPINGS
from connectors.mappings.loader import department_spec
from connectors.metrics import ConnectorMetrics
from connectors.publisher import KafkaPublisher
from connectors.runner import Runner
from connectors.sources.drop_folder import open_file
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry
from services.topics import ensure_topics, topic_specs
from tests.support.mapping_reference import map_row

pytestmark = pytest.mark.integration

DEPARTMENT = "public-security"
KEY = b"w" * 32
PARTITIONS = 4
Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class OnTheWire:
    """One record as a consumer reads it."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: Headers


@dataclass(frozen=True)
class Cluster:
    """The cluster metadata kafka-python's DefaultPartitioner asks for: one topic."""

    topic: str
    partitions: int

    def topics(self) -> set[str]:
        return {self.topic}

    def partitions_for_topic(self, _topic: str) -> set[int]:
        return set(range(self.partitions))

    def available_partitions_for_topic(self, _topic: str) -> set[int]:
        return set(range(self.partitions))


def default_partition(cluster: Cluster, key: bytes) -> int:
    return int(DefaultPartitioner().partition(cluster.topic, key, key, None, None, cluster))


def published(bootstrap: str, topics: dict[str, int], source: str, expect: int) -> list[OnTheWire]:
    """Every record ``source`` put on ``topics`` (name: partitions), once ``expect`` are there."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(t, p) for t, count in topics.items() for p in range(count)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        found: list[OnTheWire] = []
        deadline = time.monotonic() + 60
        while len(found) < expect and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=200).values():
                for m in messages:
                    headers = list(m.headers or [])
                    if (b"datong.source", source.encode()) in [(k.encode(), v) for k, v in headers]:
                        found.append(
                            OnTheWire(m.topic, m.partition, m.offset, m.key, m.value, headers)
                        )
        return found
    finally:
        consumer.close()


def expected_event(
    serde: Serde, catalog: Catalog, fields: Any, source: str, position: int
) -> tuple[str, bytes, bytes, Headers]:
    """(topic, key, value, headers) of a row that maps, from the references."""
    plan = department_spec("public_security").exports[0]
    event = map_row(DEPARTMENT, plan, fields, KEY)
    contract = catalog.event(DEPARTMENT, event.event)
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(contract.schema), event.record)
    value = struct.pack(">bI", 0, serde.schema_id(contract)) + body.getvalue()
    at = event.record["event_time"].astimezone(UTC).isoformat(timespec="milliseconds")
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", event.record["event_id"].encode()),
        ("ce_source", DEPARTMENT.encode()),
        ("ce_type", contract.full_name.encode()),
        ("ce_time", at.encode()),
        ("content-type", b"application/avro"),
        ("datong.source", source.encode()),
        ("datong.position", str(position).encode()),
    ]
    return contract.topic, str(event.record[contract.key_field]).encode(), value, headers


def rows(path: Path) -> Iterator[tuple[int, Any, RecordError | None]]:
    """(position, fields, the source's own error) of every row of the export."""
    for record in open_file(path).records(None):
        yield int(record.position), record.fields, record.error


def test_every_record_is_what_the_references_say(broker: str, tmp_path: Path) -> None:
    catalog = Catalog.load()
    specs = topic_specs(catalog, PARTITIONS)
    ensure_topics(broker, specs)
    engine = create_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    create_schema(engine)
    serde = Serde(catalog, SqlRegistry(engine))
    generate(tmp_path / "demo", 1, 300, 13)
    (export,) = (tmp_path / "demo" / DEPARTMENT).glob("*.csv")
    publisher = KafkaPublisher(broker, serde)
    runner = Runner(
        mapping=MAPPINGS[DEPARTMENT](KEY),
        publisher=publisher,
        checkpoints=FileCheckpoints(tmp_path / "checkpoints.json"),
        seal_key=b"s" * 32,
        metrics=ConnectorMetrics(CollectorRegistry()),
        batch_size=64,  # several batches, sent while the next one is mapped
    )
    stats = runner.run(open_file(export))
    publisher.close()
    assert stats.rejected > 0 and stats.published > 200
    source = str(export)
    ours = {c.topic for c in catalog.sources(DEPARTMENT)} | {f"dlq.{DEPARTMENT}"}
    topics = {s.name: s.partitions for s in specs if s.name in ours}
    wire = published(broker, topics, source, stats.published + stats.rejected)
    by_position = {int(dict(r.headers)["datong.position"]): r for r in wire}
    assert len(by_position) == len(wire) == stats.published + stats.rejected

    for position, fields, error in rows(export):
        record = by_position[position]
        cluster = Cluster(record.topic, topics[record.topic])
        assert record.partition == default_partition(cluster, record.key), position
        try:
            if error is not None:
                raise error
            topic, key, value, headers = expected_event(serde, catalog, fields, source, position)
        except RecordError as rejected:
            assert record.topic == f"dlq.{DEPARTMENT}"
            assert record.key == f"{source}#{position}".encode()
            clear = dict(record.headers)
            assert clear["__datong.errors.code"] == rejected.code.encode()
            assert clear["__datong.errors.field"] == rejected.field.encode()
            continue
        assert (record.topic, record.key, record.value, record.headers) == (
            topic,
            key,
            value,
            headers,
        ), position

    for topic, count in topics.items():
        for partition in range(count):
            mine = sorted(
                (r for r in wire if (r.topic, r.partition) == (topic, partition)),
                key=lambda r: r.offset,
            )
            positions = [int(dict(r.headers)["datong.position"]) for r in mine]
            assert positions == sorted(positions), (topic, partition)
