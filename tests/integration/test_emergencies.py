"""Emergencies end to end, on SQLite and PostgreSQL: declared by the health department's token,
read under (the query API and a live stream), expired by the API's clock, reverted (403 again,
the open stream ends), and reported; each change on the audit chain."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.access.audit import export_reads, find_reads, verify_reads
from services.access.audit_chain import ChainReport
from services.access.audit_export import public_key_text, verify_export
from services.access.emergencies import declare_emergency, get_emergency, list_emergencies
from services.access.emergency_report import after_action, records_under
from services.access.emergency_rules import Actor, EmergencyError, parse_declaration
from services.access.tokens import create_token
from services.api.app import create_api
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.http_server import served_over_http
from tests.support.hub import make_env
from tests.support.sse_client import SseClient
from tests.support.view_rows import seed_rows, store_rows
from tests.support.view_topics import publish_view_rows
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

CIVIL = "civil-affairs"
COMMUNITY = "610103001001"
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HEALTH = Actor("department:health", "t1", "epidemic desk")
STREAM_ENDS_S = 5.0  # generous: the target is about a second


@dataclass
class Clock:
    """The API's wall clock, moved by the test."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Api:
    url: str
    engine: sa.Engine
    clock: Clock
    bootstrap: str
    civil: dict[str, str] = field(default_factory=dict)
    health: dict[str, str] = field(default_factory=dict)

    def list(self, **params: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}/views/resident_profile", params=params, headers=self.civil, timeout=10
        )

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.url}{path}", json=body, headers=headers or self.health, timeout=10
        )

    def subscribe(self, **query: str) -> SseClient:
        params = "&".join(f"{k}={v}" for k, v in query.items())
        client = SseClient(f"{self.url}/subscribe/resident_profile?{params}", self.civil)
        wait_for(lambda: "subscribed" in client.comments, 30, what="the subscription")
        return client


def declaration(hours: int = 2) -> dict[str, Any]:
    return {
        "reason": "epidemic response: RED residents among the elderly living alone",
        "hours": hours,
        "audiences": {CIVIL: {"views": {"resident_profile": {"fields": ["health_status"]}}}},
    }


@pytest.fixture(scope="module")
def bootstrap(start_broker: Callable[[], str]) -> str:
    return start_broker()


@pytest.fixture
def api(database_url: str, bootstrap: str, tmp_path: Path) -> Iterator[Api]:
    env = make_env(bootstrap, database_url, tmp_path / "var")
    settings = Settings.from_env(env)
    engine = create_engine(database_url)
    create_schema(engine)
    store_rows(engine, [r for r in seed_rows([COMMUNITY], 3) if r.view == "resident_profile"])
    clock = Clock()
    try:
        with served_over_http(create_api(settings, engine, clock=clock)) as url:
            api = Api(url, engine, clock, bootstrap)
            api.civil = _bearer(create_token(engine, audience=CIVIL).secret)
            api.health = _bearer(create_token(engine, department="health").secret)
            yield api
    finally:
        engine.dispose()


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _seeded_statuses() -> dict[str, str]:
    """The oracle: each seeded resident's health status, from the seed itself."""
    rows = [r for r in seed_rows([COMMUNITY], 3) if r.view == "resident_profile"]
    return {r.key: str(r.data["health_status"]) for r in rows}


def test_an_emergency_opens_at_once_is_read_under_expires_by_itself_and_is_reported(
    api: Api,
) -> None:
    assert api.list(fields="health_status").status_code == 403

    declared = api.post("/emergencies", declaration(hours=2))
    assert declared.status_code == 201, declared.text
    emergency_id = declared.json()["id"]
    assert declared.json()["status"] == "open"

    # Open at once: the next read takes the extra field, through the list and a stream.
    page = api.list(fields="person_key,health_status")
    assert page.status_code == 200, page.text
    got = {item["person_key"]: item["health_status"] for item in page.json()["items"]}
    assert got == _seeded_statuses()
    assert api.list(fields="person_key,address").status_code == 200  # the base grant alone
    stream = api.subscribe(fields="person_key,health_status")
    try:
        rows = [r for r in seed_rows([COMMUNITY], 3) if r.view == "resident_profile"]
        publish_view_rows(api.bootstrap, api.engine, rows)
        wait_for(lambda: len(stream.of_kind("change")) >= len(rows), 30, what="the changes")
        streamed = {e.data["person_key"]: e.data["health_status"] for e in stream.of_kind("change")}
        assert streamed == _seeded_statuses()

        # Expired by the clock: nothing reloads, nothing is ended; the next read is refused
        # and the stream that depended on it ends.
        api.clock.now = T0 + timedelta(hours=2)
        assert api.list(fields="health_status").status_code == 403
        assert "health_status" not in api.list().json()["items"][0]
        wait_for(lambda: stream.ended, STREAM_ENDS_S, what="the stream to end at expiry")
    finally:
        stream.close()
    assert get_emergency(api.engine, emergency_id).status(api.clock.now) == "expired"

    # Reported: the two reads that took health_status, the base read not at all.
    wait_for(
        lambda: any(r.operation == "subscribe" for r in records_under(api.engine, emergency_id)),
        10,
        what="the stream's audit record",
    )
    report = after_action(
        get_emergency(api.engine, emergency_id),
        records_under(api.engine, emergency_id),
        api.clock.now,
    )
    assert report["emergency"]["status"] == "expired"
    assert [c["operation"] for c in report["changes"]] == ["declare"]
    assert report["changes"][0]["by"] == "department:health"
    (by_field,) = report["by_field"]
    assert (by_field["audience"], by_field["view"], by_field["field"]) == (
        CIVIL,
        "resident_profile",
        "health_status",
    )
    assert by_field["reads"] == 2
    assert by_field["rows"] == 3 + 3  # the page's rows and the stream's changes
    base_reads = [r for r in find_reads(api.engine, audience=CIVIL) if r.emergency_id is None]
    assert any(r.query.get("fields") == "person_key,address" for r in base_reads)
    assert isinstance(verify_reads(api.engine), ChainReport)
    key, out = Ed25519PrivateKey.generate(), io.StringIO()
    export_reads(api.engine, T0 - timedelta(days=1), out, key)
    assert emergency_id in out.getvalue()
    exported = verify_export(out.getvalue().splitlines(), public_key_text(key))
    assert isinstance(exported, ChainReport)


def test_an_ended_emergency_ends_the_stream_that_depended_on_it(api: Api) -> None:
    emergency_id = api.post("/emergencies", declaration()).json()["id"]
    stream = api.subscribe(fields="person_key,health_status")
    base = api.subscribe(fields="person_key,address")  # the base grant: it goes on
    try:
        ended = api.post(f"/emergencies/{emergency_id}/end", {"reason": "contained"})
        assert ended.status_code == 200, ended.text
        assert ended.json()["status"] == "ended"
        wait_for(lambda: stream.ended, STREAM_ENDS_S, what="the stream to end with it")
        wait_for(
            lambda: api.list(fields="health_status").status_code == 403,
            STREAM_ENDS_S,
            what="the field to be refused again",
        )
        assert not base.ended
    finally:
        stream.close()
        base.close()
    operations = [r.operation for r in records_under(api.engine, emergency_id)]
    assert operations[:2] == ["declare", "end"]


def test_a_renewal_keeps_it_open_past_its_first_expiry(api: Api) -> None:
    emergency_id = api.post("/emergencies", declaration(hours=1)).json()["id"]
    api.clock.now = T0 + timedelta(minutes=50)
    renewed = api.post(f"/emergencies/{emergency_id}/renew", {"reason": "second wave", "hours": 72})
    assert renewed.status_code == 200, renewed.text
    api.clock.now = T0 + timedelta(hours=50)
    assert api.list(fields="health_status").status_code == 200
    api.clock.now = T0 + timedelta(minutes=50) + timedelta(hours=72)
    assert api.list(fields="health_status").status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({**declaration(), "hours": 73}, 400, "hours"),
        ({**declaration(), "reason": ""}, 400, "reason"),
        ({**declaration(), "until": "tomorrow"}, 400, "until"),
        (
            {
                **declaration(),
                "audiences": {CIVIL: {"views": {"household": {"fields": ["last_water_reading"]}}}},
            },
            400,
            f"audiences.{CIVIL}.views.household.fields",
        ),
        (
            {
                **declaration(),
                "audiences": {CIVIL: {"views": {"household": {"fields": ["rooms"]}}}},
            },
            403,
            f"audiences.{CIVIL}.views.household.fields",
        ),
    ],
)
def test_a_declaration_is_refused_naming_the_field(
    api: Api, body: dict[str, Any], status: int, named: str
) -> None:
    refused = api.post("/emergencies", body)
    assert refused.status_code == status, refused.text
    assert refused.json()["field"] == named
    assert httpx.get(f"{api.url}/emergencies", headers=api.health, timeout=10).json() == {
        "items": []
    }


def test_an_audience_token_cannot_declare_and_a_second_one_for_the_same_audience_conflicts(
    api: Api,
) -> None:
    assert api.post("/emergencies", declaration(), headers=api.civil).status_code == 403
    assert api.post("/emergencies", declaration()).status_code == 201
    again = api.post("/emergencies", declaration())
    assert again.status_code == 409 and again.json()["field"] == f"audiences.{CIVIL}"
    listed = httpx.get(f"{api.url}/emergencies", headers=api.civil, timeout=10).json()["items"]
    assert [e["status"] for e in listed] == ["open"]


def test_the_gauge_counts_the_emergencies_open_now(api: Api) -> None:
    def gauge() -> float:
        text = httpx.get(f"{api.url}/metrics", timeout=10).text
        line = next(x for x in text.splitlines() if x.startswith("datong_emergencies_active "))
        return float(line.split()[1])

    assert gauge() == 0
    api.post("/emergencies", declaration(hours=3))
    assert gauge() == 1
    api.clock.now = T0 + timedelta(hours=3)
    assert gauge() == 0


@pytest.mark.parametrize(
    ("path", "content", "status"),
    [
        ("/emergencies", b"{not json", 400),
        ("/emergencies", b"[" * 50 + b"]" * 50, 400),
        ("/emergencies", b'{"reason": "' + b"x" * 70_000 + b'"}', 413),
        ("/emergencies", b"[]", 400),
        ("/emergencies/em-nothere/end", b'{"reason": "x"}', 404),
        ("/emergencies/%00/end", b'{"reason": "x"}', 400),  # refused before any route
        ("/emergencies/%ff%fe/end", b'{"reason": "x"}', 404),
        ("/emergencies/em-nothere/renew", b'{"reason": "x", "hours": 1, "more": 1}', 400),
    ],
)
def test_hostile_bodies_and_ids_get_a_4xx(api: Api, path: str, content: bytes, status: int) -> None:
    answer = httpx.post(f"{api.url}{path}", content=content, headers=api.health, timeout=10)
    assert answer.status_code == status, answer.text
    assert answer.json()["status"] == status


def test_two_declarations_naming_one_audience_at_once_open_one(database_url: str) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def declare() -> None:
        barrier.wait()
        try:
            declare_emergency(engine, parse_declaration(declaration()), HEALTH, T0)
        except EmergencyError as exc:
            outcomes.append(exc.status)
        else:
            outcomes.append("open")

    threads = [threading.Thread(target=declare) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes, key=str) == [409, "open"]
        assert len(list_emergencies(engine)) == 1
    finally:
        engine.dispose()
