"""The connector side of the bench: our CSV -> Avro -> Kafka path, wired as the CLI wires it.

This module and ``data.py`` are the bench's composition root towards ``connectors``:
the rest of the bench never imports a connector (``producers.py`` takes only the
connector's producer options, for its raw producer to send alike).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry

from connectors.base import Event
from connectors.checkpoints import FileCheckpoints
from connectors.demo import generate
from connectors.identity import birth_of, gender_of, person_key
from connectors.mappings.household_register import HouseholdRegisterMapping
from connectors.metrics import ConnectorMetrics
from connectors.publisher import KafkaPublisher
from connectors.runner import Runner
from connectors.sources.csv_file import CsvFile
from schemas.catalog import Catalog
from schemas.headers import Headers, cloudevent_headers
from schemas.serde import Serde
from services.bench.data import HEADER, placement, registration, resident_id
from services.bench.offered import Record
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
    """Publish ``csv_path`` through Runner + KafkaPublisher + HouseholdRegisterMapping + CsvFile.

    Only ``Runner.run`` is timed: connecting the producer and registering schemas are
    start-up costs the raw producers do not pay either.
    """
    publisher = KafkaPublisher(bootstrap, serde)
    runner = Runner(
        mapping=HouseholdRegisterMapping(hmac_key),
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
    mapping = HouseholdRegisterMapping(hmac_key)
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


class LiveRegistrations:
    """New registrations stamped with the current time, encoded as the connector encodes them.

    One registration row goes through the real mapping; each record is a copy of it with
    its own resident (ID-derived person_key, birth date and gender), serial, community,
    dwelling and household, and the current time. The mapping's cost is the connector
    figure's business: here one core must offer 5,000 events/s beside the visibility
    poller, and mapping each row would cost more than that leaves.
    """

    def __init__(self, serde: Serde, hmac_key: bytes, seed: int) -> None:
        rng = random.Random(seed)
        self._serde = serde
        self._hmac_key = hmac_key
        self._template = HouseholdRegisterMapping(hmac_key)(
            dict(zip(HEADER, registration(1, rng, datetime.now(UTC)), strict=True))
        )

    def record(self, index: int) -> Record:
        """The registration of resident ``index``, happening now; its key is the person_key."""
        id_number = resident_id(index)
        key = person_key(id_number, self._hmac_key)
        where = placement(index)
        template = self._template
        values = template.record | {
            "event_id": f"{template.department}:{where.serial}",
            "person_key": key,
            "birth_date": birth_of(id_number, "birth_date"),
            "gender": gender_of(id_number),
            "household_no": where.household_no,
            "dwelling_id": where.dwelling_id,
            "community_code": where.community_code,
            "event_time": datetime.now(UTC),
        }
        payload = encode_event(self._serde, Event(template.department, template.event, key, values))
        return Record(payload.topic, payload.key, payload.value, list(payload.headers))


def residents(hmac_key: bytes, indexes: Iterable[int]) -> Iterator[tuple[int, str, str]]:
    """(index, ID number, person_key) of each resident ``index``, keyed as the connector
    keys them under ``hmac_key``."""
    for index in indexes:
        id_number = resident_id(index)
        yield index, id_number, person_key(id_number, hmac_key)


@dataclass(frozen=True)
class DemoExports:
    """The demo community's exports: one folder per department, in feeding order."""

    folders: list[tuple[str, Path]]  # (department, its folder); housing first
    events: int  # events their clean rows publish


def demo_exports(out: Path, communities: int, residents: int, seed: int) -> DemoExports:
    """Write the demo community's exports under ``out`` (as ``datong up --demo`` does)."""
    manifest = generate(out, communities, residents, seed)
    folders = [(department, out / department) for department in manifest.departments]
    return DemoExports(folders, sum(f.published for f in manifest.files))
