"""HTTP push: departments POST JSON that lands pseudonymized on their topics, or is refused."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from connectors.identity import person_key
from connectors.publisher import KafkaPublisher
from connectors.sources.http_intake import IngestLimits, ingest_routes
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry
from services.topics import ensure_topics, topic_specs
from tests.support.factories import resident_id, wrong_check_digit
from tests.support.topics import read_topic

pytestmark = pytest.mark.integration

HMAC_KEY = b"h" * 32
TOKENS = {"public-security": "ps-token-0123", "health": "health-token-4567"}
TOPIC = "src.public-security.resident-registered"


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def intake(broker: str, tmp_path: Path) -> Iterator[tuple[TestClient, CollectorRegistry]]:
    """A Starlette app with only the intake mounted, publishing to the session's broker."""
    catalog = Catalog.load()
    ensure_topics(broker, topic_specs(catalog, 4))
    engine = create_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    create_schema(engine)
    publishers: list[KafkaPublisher] = []

    def sink() -> KafkaPublisher:
        publishers.append(KafkaPublisher(broker, Serde(catalog, SqlRegistry(engine))))
        return publishers[-1]

    metrics = CollectorRegistry()
    requests = Counter(
        "datong_ingest_requests", "Ingest requests", ["department", "status"], registry=metrics
    )
    routes = ingest_routes(
        sink,
        catalog,
        HMAC_KEY,
        tokens={d: sha256(t) for d, t in TOKENS.items()},
        limits=IngestLimits(max_body_bytes=64 * 1024, max_records=50),
        requests=requests,
    )
    with TestClient(Starlette(routes=routes)) as client:
        yield client, metrics
    for publisher in publishers:
        publisher.close()
    engine.dispose()


def bearer(department: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[department]}"}


def registration(serial: str, seq: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": serial,
        "event_time": "2024-03-05T10:00:00+08:00",
        "id_number": resident_id(seq, date(1975, 6, 1)),
        "name": "李秀英",
        "gender": "FEMALE",
        "birth_date": "1975-06-01",
        "phone": "13912345678",
        "community_code": "C002",
        "dwelling_id": "D-0042",
    }
    body.update(changes)
    return body


def test_a_batch_is_published_pseudonymized_and_answered_with_event_ids(
    broker: str, intake: tuple[TestClient, CollectorRegistry]
) -> None:
    client, metrics = intake
    run = uuid.uuid4().hex[:8]
    batch = [registration(f"{run}-{i}", i) for i in range(3)]
    response = client.post(
        "/ingest/public-security/resident-registered", json=batch, headers=bearer("public-security")
    )
    assert response.status_code == 202, response.text
    ids = [f"public-security:{run}-{i}" for i in range(3)]
    assert response.json() == {"event_ids": ids}
    single = client.post(
        "/ingest/public-security/resident-registered",
        json=registration(f"{run}-9", 9),
        headers=bearer("public-security"),
    )
    assert single.status_code == 202
    ids.append(f"public-security:{run}-9")

    records = {
        r.headers["ce_id"].decode(): r
        for r in read_topic(broker, TOPIC, 4)
        if r.headers["ce_id"].decode() in ids
    }
    assert sorted(records) == sorted(ids)
    first = records[ids[0]]
    assert first.key == person_key(resident_id(0, date(1975, 6, 1)), HMAC_KEY).encode()
    assert first.value is not None
    assert resident_id(0, date(1975, 6, 1)).encode() not in first.value
    assert "李秀英".encode() not in first.value and b"13912345678" not in first.value
    assert 'datong_ingest_requests_total{department="public-security",status="202"} 2.0' in (
        generate_latest(metrics).decode()
    )


def test_one_bad_record_refuses_the_whole_batch_with_field_level_errors(
    broker: str, intake: tuple[TestClient, CollectorRegistry]
) -> None:
    client, _ = intake
    run = uuid.uuid4().hex[:8]
    bad_id = wrong_check_digit(resident_id(2, date(1975, 6, 1)))
    batch = [
        registration(f"{run}-0", 0),
        registration(f"{run}-1", 1, gender="不详", birth_date="1975-02-30"),
        registration(f"{run}-2", 2, id_number=bad_id),
    ]
    response = client.post(
        "/ingest/public-security/resident-registered", json=batch, headers=bearer("public-security")
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} == {
        (1, "gender"),
        (1, "birth_date"),
        (2, "id_number"),
    }
    assert bad_id not in response.text
    published = {r.headers["ce_id"].decode() for r in read_topic(broker, TOPIC, 1)}
    assert f"public-security:{run}-0" not in published  # atomic: the good record waits too


@pytest.mark.parametrize(
    ("headers", "path", "status"),
    [
        ({}, "/ingest/public-security/resident-registered", 401),
        ({"Authorization": "Bearer wrong"}, "/ingest/public-security/resident-registered", 401),
        ({"Authorization": "Basic cHM6cHM="}, "/ingest/public-security/resident-registered", 401),
        (bearer("health"), "/ingest/public-security/resident-registered", 403),
        (bearer("health"), "/ingest/health/resident-registered", 403),
        (bearer("health"), "/ingest/health/no-such-event", 404),
    ],
)
def test_tokens_are_checked_per_department_and_event_type(
    intake: tuple[TestClient, CollectorRegistry], headers: dict[str, str], path: str, status: int
) -> None:
    client, metrics = intake
    response = client.post(path, json=registration("x", 1), headers=headers)
    assert response.status_code == status
    assert response.json()["status"] == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert f'status="{status}"' in generate_latest(metrics).decode()


def test_bodies_and_batches_over_the_limits_are_refused_with_413(
    intake: tuple[TestClient, CollectorRegistry],
) -> None:
    client, _ = intake
    url, auth = "/ingest/public-security/resident-registered", bearer("public-security")
    too_many = [registration(f"n-{i}", i) for i in range(51)]
    assert client.post(url, json=too_many, headers=auth).status_code == 413
    huge = registration("h", 1, address="长" * 30_000)
    assert client.post(url, json=huge, headers=auth).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the stream itself is counted
        yield b"["
        for _ in range(2000):
            yield b'{"padding": "' + b"x" * 100 + b'"},'
        yield b"{}]"

    assert client.post(url, content=chunks(), headers=auth).status_code == 413


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, None),
        (b'"just a string"', 422, "(body)"),
        (b"42", 422, "(body)"),
        (b"[]", 422, "(body)"),
        (b'[{"event_id": "a"}, 7]', 422, "(record)"),
    ],
)
def test_bodies_that_are_not_json_objects_are_refused(
    intake: tuple[TestClient, CollectorRegistry], body: bytes, status: int, field: str | None
) -> None:
    client, _ = intake
    response = client.post(
        "/ingest/public-security/resident-registered",
        content=body,
        headers=bearer("public-security"),
    )
    assert response.status_code == status
    if field is not None:
        assert field in {e["field"] for e in response.json()["errors"]}


def test_personal_data_outside_the_pseudonymized_fields_is_refused_naming_only_the_field(
    broker: str, intake: tuple[TestClient, CollectorRegistry], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = intake
    run = uuid.uuid4().hex[:8]
    other_id = resident_id(7, date(1949, 12, 31))
    batch = [
        registration(f"{run}-0", 0),
        registration(f"{run}-1", 1, household_no="13712345678"),  # a phone as a code
        registration(f"{run}-2", 2, dwelling_id="欧阳娜娜"),  # a name as a code
        registration(f"{run}-3", 3, address=f"和平里{other_id}号"),  # an ID inside an address
    ]
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/ingest/public-security/resident-registered",
            json=batch,
            headers=bearer("public-security"),
        )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} == {
        (1, "household_no"),
        (2, "dwelling_id"),
        (3, "address"),
    }
    reasons = {e["field"]: e["reason"] for e in errors}
    assert reasons["household_no"].startswith("holds a phone number, and household_no is a code")
    assert reasons["dwelling_id"].startswith("holds a name, and dwelling_id is a code field")
    assert reasons["address"].startswith("holds an ID number, and address is an address field")
    for value in ("13712345678", "欧阳娜娜", other_id):
        assert value not in response.text
        assert value not in caplog.text
    published = {r.headers["ce_id"].decode() for r in read_topic(broker, TOPIC, 1)}
    assert not {f"public-security:{run}-{i}" for i in range(4)} & published
