"""Confluent's own client reads every topic through the embedded registry.

The registry's routes run under uvicorn over a real database; our Serde encodes one
record per contract (registering through HTTP), the records travel through the real
broker, and confluent-kafka's ``SchemaRegistryClient`` + ``AvroDeserializer`` decode them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from starlette.applications import Starlette

from schemas.catalog import Catalog, Contract
from schemas.headers import cloudevent_headers
from schemas.registry.http_client import HttpRegistry
from schemas.serde import Serde
from services.api.registry_routes import registry_routes
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry
from services.topics import TopicSpec, ensure_topics
from tests.support.http_server import served_over_http

pytestmark = pytest.mark.integration

AT = datetime(2024, 6, 1, 8, 30, 15, 123_000, tzinfo=UTC)


# --- a record per contract, driven by its schema -------------------------------------------


def sample(schema: Any, name: str = "value") -> Any:
    """A value of ``schema`` that exercises it: the non-null branch, one map entry, ..."""
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        return sample(branches[0], name) if branches else None
    if isinstance(schema, str):
        return _primitive(schema, name)
    if schema.get("logicalType") in _LOGICAL:
        return _LOGICAL[schema["logicalType"]]
    kind = schema["type"]
    if kind == "record":
        return {f["name"]: sample(f["type"], f["name"]) for f in schema["fields"]}
    if kind in _COMPLEX:
        return _COMPLEX[kind](schema, name)
    return sample(kind, name)


_LOGICAL: dict[str, Any] = {"timestamp-millis": AT, "date": date(2024, 6, 1)}
_COMPLEX: dict[str, Any] = {
    "enum": lambda schema, _: schema["symbols"][-1],
    "array": lambda schema, name: [sample(schema["items"], name)],
    "map": lambda schema, name: {f"{name}-key": sample(schema["values"], name)},
}


def _primitive(kind: str, name: str) -> Any:
    values: dict[str, Any] = {
        "string": f"{name}-样例",
        "int": 42,
        "long": 1_717_200_000_123,
        "double": 12.5,
        "float": 0.5,
        "boolean": True,
        "bytes": b"\x00\x01",
        "null": None,
    }
    return values[kind]


def record_for(contract: Contract) -> dict[str, Any]:
    """A complete record of the contract (named types defined once, inlined by the catalog)."""
    named: dict[str, Any] = {}
    value = sample(_resolve_names(contract.schema, named, contract.schema.get("namespace", "")))
    assert isinstance(value, dict)
    return value


def _resolve_names(node: Any, named: dict[str, Any], namespace: str) -> Any:
    """Replace references to named types by their definitions, so ``sample`` can follow them."""
    if isinstance(node, str):
        return named.get(node, named.get(f"{namespace}.{node}", node))
    if isinstance(node, list):
        return [_resolve_names(item, named, namespace) for item in node]
    if not isinstance(node, dict):
        return node
    space = node.get("namespace", namespace)
    resolved = {
        k: _resolve_names(v, named, space) if k in ("type", "items", "values") else v
        for k, v in node.items()
    }
    if "fields" in node:
        resolved["fields"] = [
            {**f, "type": _resolve_names(f["type"], named, space)} for f in node["fields"]
        ]
    if node.get("type") in ("record", "enum", "fixed"):
        full = node["name"] if "." in node["name"] else f"{space}.{node['name']}".lstrip(".")
        named[full] = resolved
    return resolved


# --- the registry over HTTP ----------------------------------------------------------------


@pytest.fixture
def registry_url(database_url: str) -> Iterator[str]:
    """The registry's routes served by uvicorn on a free port, over the test database."""
    engine = create_engine(database_url)
    create_schema(engine)
    app = Starlette(routes=[registry_routes(SqlRegistry(engine))])
    with served_over_http(app) as url:
        yield f"{url}/registry"
    engine.dispose()


def produce_all(broker: str, serde: Serde, topics: dict[str, Contract]) -> dict[str, Any]:
    """Encode one record per contract with our Serde and send it; the records by topic."""
    ensure_topics(broker, [TopicSpec(t, 1, c.kind == "view") for t, c in topics.items()])
    producer = KafkaProducer(bootstrap_servers=broker, acks="all")
    records = {}
    for topic, contract in topics.items():
        record = record_for(contract)
        headers = cloudevent_headers(f"e-{topic}", "test", contract.full_name, AT)
        key = str(record[contract.key_field]).encode()
        producer.send(topic, key=key, value=serde.encode(contract, record), headers=headers)
        records[topic] = record
    producer.flush(30)
    producer.close()
    return records


def consume_all(broker: str, topics: list[str], timeout_s: float = 60.0) -> dict[str, bytes]:
    """The first value of each topic, read back from the broker."""
    consumer = KafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False)
    partitions = [TopicPartition(t, 0) for t in topics]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    values: dict[str, bytes] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(values) < len(topics) and time.monotonic() < deadline:
            for tp, messages in consumer.poll(timeout_ms=500).items():
                if messages:
                    values.setdefault(tp.topic, messages[0].value)
    finally:
        consumer.close()
    assert set(values) == set(topics), f"nothing came back from {set(topics) - set(values)}"
    return values


def test_confluent_clients_decode_every_source_and_view_topic(
    broker: str, registry_url: str
) -> None:
    catalog = Catalog.load()
    suffix = uuid.uuid4().hex[:8]
    topics = {f"{c.topic}.{suffix}": c for c in catalog}  # this test's own topics
    assert {c.kind for c in topics.values()} == {"source", "view"}
    with HttpRegistry(registry_url) as ours:
        records = produce_all(broker, Serde(catalog, ours), topics)
    values = consume_all(broker, list(topics))
    with SchemaRegistryClient({"url": registry_url}) as theirs:
        deserializer = AvroDeserializer(theirs)
        for topic, value in values.items():
            context = SerializationContext(topic, MessageField.VALUE)
            assert deserializer(value, context) == records[topic], topic
        subjects = theirs.get_subjects()
    assert sorted(subjects) == sorted(c.value_subject for c in catalog)
