"""A schema registry that cannot be reached delays events; it never dead-letters them.

The merge reads a writer's schema from the registry the first time it sees its id. The
embedded registry lives in the view database, so a PostgreSQL restart made that read fail,
and the worker sent a perfectly good event to its department's dead-letter topic (seen as
a housing event missing from the views after the restart fault). Now the batch waits for
the registry and is decoded again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from schemas.catalog import Catalog
from schemas.registry.errors import RegistryUnreachableError
from schemas.serde import Serde
from services.broker import free_port
from services.merge.encoding import ViewEncoder
from services.merge.intake import Intake
from services.merge.pipeline import Pipeline
from services.merge.processor import MergeProcessor, Message
from services.merge.publisher import ViewPublisher
from services.metrics import MergeMetrics
from services.store.database import create_engine, create_schema
from services.store.merge_store import open_merge_store
from services.store.registry_store import SqlRegistry
from tests.support.keys import TEST_HMAC_KEY
from tests.support.oracle import events as make
from tests.support.stored_views import view_rows

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PERSON = "a" * 64


class FlakyRegistry:
    """A real registry whose schema reads fail ``outages`` times first, as a down database's."""

    def __init__(self, registry: SqlRegistry, outages: int) -> None:
        self._registry = registry
        self.outages = outages

    def schema_text(self, schema_id: int) -> str:
        if self.outages:
            self.outages -= 1
            raise RegistryUnreachableError("schema registry database unreachable: restarting")
        return self._registry.schema_text(schema_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)


def framed(serde: Serde, events: list[Any]) -> list[Message]:
    """The events as the worker consumes them (Confluent-framed, one partition)."""
    messages = []
    for offset, event in enumerate(events):
        contract = serde.catalog.event(event.department, event.event)
        value = serde.encode(contract, event.record)
        messages.append(Message(contract.topic, 0, offset, event.key.encode(), value, 0))
    return messages


def test_a_registry_whose_database_is_down_is_unreachable_not_refusing() -> None:
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test?connect_timeout=2"
    registry = SqlRegistry(sa.create_engine(dead))
    with pytest.raises(RegistryUnreachableError, match="unreachable"):
        registry.schema_text(1)


def test_a_decode_while_the_registry_is_unreachable_rejects_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'views.db'}"
    engine = create_engine(url)
    create_schema(engine)
    writer = Serde(Catalog.load(), SqlRegistry(engine))
    messages = framed(writer, [make.registered(PERSON, WHEN, "D-1", "C002")])
    flaky = FlakyRegistry(SqlRegistry(engine), outages=1)
    store = open_merge_store(url)
    processor = MergeProcessor(
        store,
        Serde(Catalog.load(), flaky),
        MergeMetrics(CollectorRegistry()),
        TEST_HMAC_KEY,
    )
    try:
        with pytest.raises(RegistryUnreachableError):
            processor.decode(messages)
        decoded = processor.decode(messages)
    finally:
        store.close()
        engine.dispose()
    assert decoded.rejects == []
    assert [u.key for u in decoded.updates if u.view == "resident_profile"] == [PERSON]


class _App:
    """What the pipeline needs of the faust app: the intake, and committing offsets."""

    def __init__(self) -> None:
        self.intake = Intake(100)

    async def commit_merged(self, offsets: Any) -> bool:
        return True


class _Producer:
    """Records dead letters instead of sending them."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, topic: str, **_: Any) -> asyncio.Future[None]:
        self.sent.append(topic)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_the_worker_waits_for_the_registry_and_merges_the_batch(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    writer = Serde(Catalog.load(), SqlRegistry(engine))
    events = [
        make.registered(PERSON, WHEN, "D-1", "C002"),
        make.dwelling("D-1", WHEN, "C002"),
    ]
    messages = framed(writer, events)
    flaky = FlakyRegistry(SqlRegistry(engine), outages=3)
    metrics = MergeMetrics(CollectorRegistry())
    serde = Serde(Catalog.load(), flaky)
    store = open_merge_store(database_url)
    processor = MergeProcessor(store, serde, metrics, TEST_HMAC_KEY)
    producer = _Producer()

    async def send(record: Any) -> asyncio.Future[None]:
        return await producer.send(record.topic)

    publisher = ViewPublisher(open_merge_store(database_url), send, ViewEncoder(writer), metrics)
    app = _App()
    pipeline = Pipeline(
        app,  # type: ignore[arg-type]
        processor,
        publisher,
        metrics,
        batch_size=10,
        fold_interval_s=0.05,
    )
    pipeline.producer = producer

    async def scenario() -> None:
        running = asyncio.create_task(pipeline.run())
        await app.intake.put(messages)
        for _ in range(200):  # the backoff sums to 0.7 s over three outages
            if pipeline.progress.merged:
                break
            await asyncio.sleep(0.05)
        pipeline.request_stop()
        await asyncio.wait_for(running, 10)
        await publisher.drain()

    try:
        asyncio.run(scenario())
    finally:
        publisher.close()
        store.close()
        engine.dispose()
    dead_letters = [topic for topic in producer.sent if topic.startswith("dlq.")]
    assert dead_letters == [], "an event was dead-lettered for a registry outage"
    visible, household, _ = view_rows(database_url, "household")["D-1"]
    assert visible and household["grid_id"] == "G-02"
    assert PERSON in view_rows(database_url, "resident_profile")
    retries = metrics.retries.labels("registry")._value.get()
    assert retries == 3
