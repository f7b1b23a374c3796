"""The connector side of the bench: our CSV -> Avro -> Kafka path, wired as the CLI wires it.

This module and ``data.py`` are the bench's composition root towards ``connectors``:
the rest of the bench never imports a connector.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry

from connectors.base import Event
from connectors.checkpoints import FileCheckpoints
from connectors.mappings.public_security import RegistryMapping
from connectors.metrics import ConnectorMetrics
from connectors.publisher import KafkaPublisher
from connectors.runner import Runner
from connectors.sources.csv_file import CsvFile
from schemas.catalog import Catalog
from schemas.headers import Headers, cloudevent_headers
from schemas.serde import Serde
from services.bench.data import HEADER, registration
from services.errors import DatongError


@dataclass(frozen=True)
class Payload:
    """One encoded record exactly as the connector sends it."""

    topic: str
    key: bytes
    value: bytes
    headers: Headers


@dataclass(frozen=True)
class ConnectorRun:
    """How long the connector took to publish an export (send + flush + checkpoints)."""

    published: int
    seconds: float


def run_connector(
    bootstrap: str,
    serde: Serde,
    csv_path: Path,
    *,
    hmac_key: bytes,
    seal_key: bytes,
    var_dir: Path,
) -> ConnectorRun:
    """Publish ``csv_path`` through Runner + KafkaPublisher + RegistryMapping + CsvFile.

    Only ``Runner.run`` is timed: connecting the producer and registering schemas are
    start-up costs the raw producers do not pay either.
    """
    publisher = KafkaPublisher(bootstrap, serde)
    runner = Runner(
        mapping=RegistryMapping(hmac_key),
        publisher=publisher,
        checkpoints=FileCheckpoints(var_dir / "checkpoints" / "bench.json"),
        seal_key=seal_key,
        metrics=ConnectorMetrics(CollectorRegistry()),
    )
    try:
        started = time.perf_counter()
        stats = runner.run(CsvFile(csv_path, "utf-8"))
        seconds = time.perf_counter() - started
    finally:
        publisher.close()
    if stats.rejected:
        raise DatongError(f"the bench export had {stats.rejected} rejected rows: {stats.reasons}")
    return ConnectorRun(stats.published, seconds)


def encode_export(serde: Serde, hmac_key: bytes, csv_path: Path) -> list[Payload]:
    """The export's records encoded with the same mapping, Serde and headers as the connector."""
    mapping = RegistryMapping(hmac_key)
    payloads = []
    for record in CsvFile(csv_path, "utf-8").records(None):
        payloads.append(encode_event(serde, mapping(record.fields)))
    return payloads


def encode_event(serde: Serde, event: Event) -> Payload:
    """What ``KafkaPublisher.publish`` puts on the wire for ``event``."""
    catalog: Catalog = serde.catalog
    contract = catalog.event(event.department, event.event)
    headers = cloudevent_headers(
        event.event_id, event.department, contract.full_name, event.record["event_time"]
    )
    return Payload(
        contract.topic, event.key.encode(), serde.encode(contract, event.record), headers
    )


class LivePublisher:
    """Publishes new registrations stamped with the current time, through KafkaPublisher."""

    def __init__(self, bootstrap: str, serde: Serde, hmac_key: bytes, seed: int) -> None:
        self._rng = random.Random(seed)
        self._mapping = RegistryMapping(hmac_key)
        self._publisher = KafkaPublisher(bootstrap, serde)

    def publish(self, index: int) -> str:
        """Publish the registration of resident ``index`` now; return its person_key."""
        now = datetime.now(UTC)
        cells = registration(index, self._rng, now)
        event = self._mapping(dict(zip(HEADER, cells, strict=True)))
        event.record["event_time"] = now  # the export's time has whole seconds only
        self._publisher.publish(event)
        return event.key

    def close(self) -> None:
        """Flush what is pending and close the producer."""
        self._publisher.flush()
        self._publisher.close()
