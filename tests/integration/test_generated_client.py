"""A department's developer generates a client from the hub's own /openapi.json, pushes
events with department tokens and reads the view back with an audience token, on a live
hub (the API and the merge worker over the embedded broker)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from types import ModuleType
from typing import Any

import httpx
import pytest

from services.access.tokens import create_token
from services.store.database import create_engine, create_schema
from tests.support.factories import resident_id
from tests.support.generated_client import generated_client, module
from tests.support.hub import Hub, make_env
from tests.support.pipeline import answers_ok

pytestmark = pytest.mark.integration

COMMUNITY = "110105001001"
READER = f"grid-office-{COMMUNITY}"  # reads health_status of its community's residents
HEALTH_READER = "health-department"  # reads tests and vaccinations too
PERSON = resident_id(21, date(1950, 2, 3))


@dataclass
class Live:
    """A live hub, its generated client package, and tokens by name."""

    hub: Hub
    url: str
    client: ModuleType
    tokens: dict[str, str]

    def authenticated(self, token: str) -> Any:
        return self.client.AuthenticatedClient(base_url=self.url, token=self.tokens[token])


@pytest.fixture(scope="module")
def live(
    start_broker: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("client")
    url = f"sqlite:///{tmp / 'views.db'}"
    env = make_env(start_broker(), url, tmp / "var")
    engine = create_engine(url)
    create_schema(engine)
    tokens = {
        "health": create_token(engine, department="health").secret,
        "public-security": create_token(engine, department="public-security").secret,
        READER: create_token(engine, audience=READER).secret,
        HEALTH_READER: create_token(engine, audience=HEALTH_READER).secret,
    }
    engine.dispose()
    hub = Hub(env, tmp)
    try:
        hub.start("api")
        hub.start("worker")
        base = f"http://127.0.0.1:{env['DATONG_API_PORT']}"
        hub.wait_for(lambda: answers_ok(f"{base}/healthz"), "the API")
        document = httpx.get(f"{base}/openapi.json", timeout=30).json()
        folder = tmp_path_factory.mktemp("generated")
        with generated_client(document, folder) as package:
            yield Live(hub, base, package, tokens)
    finally:
        hub.stop()


def expected_person_key(live: Live) -> str:
    """HMAC-SHA256 of the ID number under the hub's key, computed here (DESIGN.md §3)."""
    key = live.hub.settings.hmac_key
    return hmac.new(key, PERSON.encode(), hashlib.sha256).hexdigest()


def push(live: Live, token: str, event: str, record: Any) -> Any:
    ingest = module(live.client, "api.default.post_ingest_department_event")
    with live.authenticated(token) as client:
        return ingest.sync_detailed(department=token, event=event, client=client, body=record)


def read_profile(live: Live, audience: str) -> dict[str, Any] | None:
    """The resident's profile as ``audience`` reads it, or None while there is none."""
    row = module(live.client, "api.default.get_views_view_key")
    with live.authenticated(audience) as client:
        answer = row.sync_detailed(
            view="resident_profile", key=expected_person_key(live), client=client
        )
    return dict(answer.parsed.additional_properties) if answer.status_code == 200 else None


def test_a_generated_client_pushes_events_and_reads_the_view_back(live: Live) -> None:
    models = module(live.client, "models")
    registered = models.ResidentRegisteredRecord(
        event_id="R-21",
        event_time="2024-06-04 09:00",
        id_number=PERSON,
        name="王义",
        gender="男",
        birth_date="1950-02-03",
        community_code=COMMUNITY,
    )
    status = models.HealthStatusChangedRecord(
        event_id="H-21", event_time=1717466400000, id_number=PERSON, status="红码"
    )
    for token, event, record in (
        ("public-security", "resident-registered", registered),
        ("health", "health-status-changed", status),
    ):
        answer = push(live, token, event, record)
        assert answer.status_code == 202, answer.content
        assert answer.parsed.event_ids == [f"{token}:{record.event_id}"]

    def read() -> dict[str, Any] | None:
        fields = read_profile(live, READER)
        return fields if fields and fields.get("health_status") == "RED" else None

    fields = live.hub.wait_for(read, "the profile to show the pushed status", 120)
    assert fields["name_masked"] == "王*"
    assert fields["gender"] == "MALE"
    assert fields["community_code"] == COMMUNITY
    assert PERSON not in repr(fields) and "王义" not in repr(fields)


def test_a_generated_client_reads_an_invalid_push_as_the_documented_refusal(live: Live) -> None:
    models = module(live.client, "models")
    bad = models.HealthStatusChangedRecord(
        event_id="H-22", event_time="昨天", id_number=PERSON, status="GREEN"
    )
    answer = push(live, "health", "health-status-changed", bad)
    assert answer.status_code == 422
    assert [(e.index, e.field) for e in answer.parsed.errors] == [(0, "event_time")]
    assert "epoch milliseconds" in answer.parsed.errors[0].reason


def test_a_generated_client_lists_a_department_s_events_without_a_token(live: Live) -> None:
    listing = module(live.client, "api.default.get_ingest_department")
    with live.client.Client(base_url=live.url) as client:
        answer = listing.sync_detailed(department="health", client=client)
    assert answer.status_code == 200
    events = {e.event: e.schema for e in answer.parsed.events}
    assert events["test-result-reported"] == "/ingest/health/test-result-reported/schema"


def test_pushed_tests_and_vaccinations_show_on_the_profile_for_audiences_granted_them(
    live: Live,
) -> None:
    models = module(live.client, "models")
    pushes = [
        (
            "resident-registered",
            "public-security",
            models.ResidentRegisteredRecord(
                event_id="R-31",
                event_time="2024-06-04 09:00",
                id_number=PERSON,
                name="王义",
                gender="男",
                birth_date="1950-02-03",
                community_code=COMMUNITY,
            ),
        ),
        (
            "test-result-reported",
            "health",
            models.TestResultReportedRecord(
                event_id="S-31",
                event_time="2024-06-05 08:00",
                sampled_at="2024-06-04 18:30",
                id_number=PERSON,
                test_id="S-31",
                test_type="核酸",
                result="阴性",
            ),
        ),
        (
            "vaccination-recorded",
            "health",
            models.VaccinationRecordedRecord(
                event_id="V-31",
                event_time="2024-05-01T09:15:00+08:00",
                id_number=PERSON,
                vaccine="COVID-19",
                dose_number=3,
            ),
        ),
    ]
    for event, token, record in pushes:
        assert push(live, token, event, record).status_code == 202

    def read() -> dict[str, Any] | None:
        fields = read_profile(live, HEALTH_READER)
        return (
            fields
            if fields
            and fields.get("vaccination_doses") == 3
            and fields.get("latest_test_result") == "NEGATIVE"
            else None
        )

    fields = live.hub.wait_for(read, "the profile to show the test and the vaccination", 120)
    # 18:30 and 09:15 China time, in epoch milliseconds.
    assert fields["latest_test_at"] == 1717497000000
    assert fields["last_vaccinated_at"] == 1714526100000
    # The grid office is not granted them: the fields are not in its record at all.
    grid = read_profile(live, READER)
    assert grid is not None
    assert not {
        "latest_test_result",
        "latest_test_at",
        "vaccination_doses",
        "last_vaccinated_at",
    } & set(grid)
