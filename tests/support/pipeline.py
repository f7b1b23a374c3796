"""Feeding a hub under test and watching it merge: run its connector, publish events as a
department would, and count what its worker merged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.base import Event
from connectors.publisher import KafkaPublisher
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry
from tests.support.hub import Hub

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def run_connector(hub: Hub, source: str) -> dict[str, Any]:
    """Run ``datong connector run public-security`` to completion and return its summary."""
    process = hub.start("connector", "run", "public-security", "--source", source)
    assert process.wait(120) == 0, hub.logs()
    summary = (hub.tmp / f"connector-{len(hub.processes) - 1}.log").read_text().splitlines()[-1]
    return dict(json.loads(summary))


def publish_health(hub: Hub, events: list[dict[str, Any]]) -> None:
    """The health platform publishes status changes through the connector SDK."""
    settings = hub.settings
    engine = create_engine(settings.database_url)
    create_schema(engine)
    publisher = KafkaPublisher(settings.bootstrap, Serde(Catalog.load(), SqlRegistry(engine)))
    for record in events:
        publisher.publish(Event("health", "health-status-changed", record["person_key"], record))
    publisher.flush()
    publisher.close()
    engine.dispose()


def deliver(hub: Hub, events: list[Event]) -> None:
    """Publish events as their departments' connectors would (schema ids from the hub's store)."""
    settings = hub.settings
    engine = create_engine(settings.database_url)
    create_schema(engine)
    publisher = KafkaPublisher(settings.bootstrap, Serde(Catalog.load(), SqlRegistry(engine)))
    for event in events:
        publisher.publish(event)
    publisher.flush()
    publisher.close()
    engine.dispose()


def get_if_up(url: str, headers: dict[str, str] | None = None) -> httpx.Response | None:
    """``GET url``, or None while nothing answers there (a process still starting)."""
    try:
        return httpx.get(url, headers=headers, timeout=5)
    except httpx.TransportError:
        return None


def answers_ok(url: str) -> bool:
    """Whether ``GET url`` answers 200 (False while nothing answers there yet)."""
    response = get_if_up(url)
    return response is not None and response.status_code == 200


def merged_events(hub: Hub) -> float:
    """How many source events the hub's worker has merged (any outcome), from its metrics."""
    response = get_if_up(f"http://127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}/metrics")
    if response is None:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in response.text.splitlines()
        if line.startswith("datong_merge_events_total{")
    )
