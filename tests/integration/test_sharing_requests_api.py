"""Sharing requests over HTTP on SQLite and PostgreSQL: filed, reviewed, answered; the
grant read on the next query with no restart; withdrawn and refused again; every step on
the audit chain; and no grant ever makes a not_shared field readable, even one written
into the store by hand."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from schemas.catalog import Catalog
from services.access.audit import find_reads, verify_reads
from services.access.audit_chain import ChainReport
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.access.request_steps import decide, file_request, review
from services.access.request_store import add_request, change_request, get_request
from services.access.sharing_requests import Actor, Filing
from services.access.tokens import create_token
from services.access.working_days import WorkingCalendar
from services.api.app import create_api
from services.errors import ConfigError
from services.settings import Settings
from services.store.database import create_engine, create_schema
from services.store.sharing_models import SharingGrantRow
from tests.support.view_rows import seed_rows, store_rows

pytestmark = pytest.mark.integration

HOME = "110105001001"
CALENDAR = WorkingCalendar()  # the installed package's: 2026 is in it


@pytest.fixture
def hub(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, sa.Engine, str]]:
    engine = create_engine(database_url)
    create_schema(engine)
    rows = seed_rows([HOME], per_community=2)
    store_rows(engine, rows)
    key = next(r.key for r in rows if r.view == "resident_profile")
    settings = Settings.from_env(
        {"DATONG_VAR_DIR": str(tmp_path), "DATONG_DATABASE_URL": database_url}
    ).with_dev_keys()
    try:
        with TestClient(create_api(settings, engine)) as client:
            yield client, engine, key
    finally:
        engine.dispose()


def bearer(engine: sa.Engine, **holder: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(engine, **holder).secret}"}


def readers_of(client: TestClient, headers: dict[str, str], field: str) -> set[tuple[str, str]]:
    """(audience, grant) of each reader the catalogue lists for a resident_profile field."""
    catalog = client.get("/catalog", headers={**headers, "Accept": "application/json"}).json()
    view = next(v for v in catalog["views"] if v["view"] == "resident_profile")
    entry = next(f for f in view["fields"] if f["name"] == field)
    return {(r["audience"], r["grant"]) for r in entry["readers"]}


def test_a_request_granted_by_its_owner_is_read_at_once_and_ends_when_withdrawn(
    hub: tuple[TestClient, sa.Engine, str],
) -> None:
    client, engine, key = hub
    civil = bearer(engine, audience="civil-affairs")
    health = bearer(engine, department="health")
    operator = bearer(engine, department="datong")
    row = f"/views/resident_profile/{key}"

    def read(field: str) -> Any:
        return client.get(row, headers=civil, params={"fields": field})

    assert read("health_status").status_code == 403
    filed = client.post(
        "/requests",
        headers=civil,
        json={
            "view": "resident_profile",
            "fields": ["health_status", "latest_test_result", "household_no"],
            "purpose": "welfare visits to residents in poor health",
            "scenario": "winter visits",
            "needed_days": 30,
        },
    )
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["state"] == "filed"
    household_no = next(f for f in request["fields"] if f["name"] == "household_no")
    assert household_no["decision"] == "refused" and "不予共享" in household_no["reason"]
    steps = f"/requests/{request['id']}"

    assert (
        client.post(f"{steps}/review", headers=health, json={"conforms": True}).status_code == 403
    )
    reviewed = client.post(f"{steps}/review", headers=operator, json={"conforms": True})
    assert reviewed.json()["state"] == "forwarded"
    granted = client.post(f"{steps}/grant", headers=health, json={"fields": ["health_status"]})
    assert granted.status_code == 200, granted.text
    no_reason = client.post(
        f"{steps}/refuse", headers=health, json={"fields": ["latest_test_result"]}
    )
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
    refused = client.post(
        f"{steps}/refuse",
        headers=health,
        json={"fields": ["latest_test_result"], "reason": "test results are for epidemic work"},
    )
    assert refused.json()["state"] == "resolved"

    answer = read("health_status")
    assert answer.status_code == 200 and "health_status" in answer.json()
    assert read("latest_test_result").status_code == 403
    assert read("household_no").status_code == 403

    assert readers_of(client, civil, "health_status") >= {
        ("civil-affairs", f"request:{request['id']}")
    }
    assert ("civil-affairs", f"request:{request['id']}") not in readers_of(
        client, civil, "latest_test_result"
    )

    withdrawn = client.post(f"{steps}/withdraw", headers=civil, json={"reason": "done"})
    assert withdrawn.json()["state"] == "withdrawn"
    assert read("health_status").status_code == 403
    assert ("civil-affairs", f"request:{request['id']}") not in readers_of(
        client, civil, "health_status"
    )

    assert isinstance(verify_reads(engine), ChainReport)
    operations = [e.operation for e in find_reads(engine, view="resident_profile", limit=1000)]
    for step in ("file", "review", "grant", "refuse", "withdraw"):
        assert f"request-{step}" in operations


def test_each_refusal_names_its_field(hub: tuple[TestClient, sa.Engine, str]) -> None:
    client, engine, _ = hub
    civil = bearer(engine, audience="civil-affairs")
    body = {
        "view": "resident_profile",
        "fields": ["health_status"],
        "purpose": "p",
        "scenario": "s",
        "needed_days": 30,
    }
    changes: list[tuple[dict[str, Any], str]] = [
        ({"needed_days": True}, "needed_days"),
        ({"needed_days": 0}, "needed_days"),
        ({"fields": []}, "fields"),
        ({"fields": ["no_such_field"]}, "fields"),
        ({"purpose": "x" * 1001}, "purpose"),
        ({"colour": "red"}, "colour"),
        ({"audience": "health-department"}, "audience"),
        ({"communities": ["999"]}, "communities"),
    ]
    for change, field in changes:
        answer = client.post("/requests", headers=civil, json={**body, **change})
        assert 400 <= answer.status_code < 500, (change, answer.text)
        assert answer.json()["field"] == field, (change, answer.text)
    assert client.post("/requests", headers=civil, content=b"[").status_code == 400
    assert client.get("/requests/req-nothing", headers=civil).status_code == 404


def test_the_api_refuses_to_start_over_a_grant_of_a_not_shared_field(
    hub: tuple[TestClient, sa.Engine, str], database_url: str, tmp_path: Path
) -> None:
    client, engine, _ = hub
    civil = bearer(engine, audience="civil-affairs")
    body = {
        "view": "resident_profile",
        "fields": ["health_status"],
        "purpose": "p",
        "scenario": "s",
        "needed_days": 30,
    }
    request_id = client.post("/requests", headers=civil, json=body).json()["id"]
    with engine.begin() as conn:  # what no step ever writes
        conn.execute(
            sa.insert(SharingGrantRow).values(
                request_id=request_id,
                audience="civil-affairs",
                view="resident_profile",
                field="household_no",
                communities={"codes": None},
                purpose="p",
                granted_at=sa.func.now(),
                expires_at=sa.func.now() + sa.text("interval '1 day'")
                if engine.dialect.name == "postgresql"
                else sa.text("datetime('now', '+1 day')"),
                revoked_at=None,
            )
        )
    settings = Settings.from_env(
        {"DATONG_VAR_DIR": str(tmp_path), "DATONG_DATABASE_URL": database_url}
    ).with_dev_keys()
    with pytest.raises(ConfigError, match="household_no"):
        create_api(settings, engine)


def test_metrics_count_a_review_past_its_deadline_by_stage_and_department(
    hub: tuple[TestClient, sa.Engine, str],
) -> None:
    client, engine, _ = hub
    contracts = Catalog.load()
    policy = load_policy(DEFAULT_POLICY_FILE, contracts)
    owners = next(v for v in contracts.views() if v.view == "resident_profile").field_owners
    filing = Filing("civil-affairs", "resident_profile", ("health_status",), "p", "s", 366)
    by = Actor("t", "civil", "civil-affairs", None)
    # Filed Wed 2 December 2026: its review was due Fri 4 December, so it is late now.
    filed_at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    add_request(
        engine,
        file_request(filing, by, policy, owners, "req-late", now=filed_at, calendar=CALENDAR),
        by,
    )
    text = client.get("/metrics").text
    assert 'datong_sharing_requests_overdue{department="datong",stage="review"} 1.0' in text
    assert 'datong_sharing_requests_overdue{department="health",stage="provider"} 0.0' in text


def test_two_answers_at_once_both_land_on_the_request(
    hub: tuple[TestClient, sa.Engine, str],
) -> None:
    _, engine, _ = hub
    contracts = Catalog.load()
    policy = load_policy(DEFAULT_POLICY_FILE, contracts)
    owners = next(v for v in contracts.views() if v.view == "resident_profile").field_owners
    by = Actor("t", "civil", "civil-affairs", None)
    names = ("health_status", "latest_test_result", "vaccination_doses", "last_vaccinated_at")
    filing = Filing("civil-affairs", "resident_profile", names, "p", "s", 30)
    now = datetime.now(UTC)
    add_request(
        engine, file_request(filing, by, policy, owners, "req-both", now=now, calendar=CALENDAR), by
    )
    operator = Actor("o", "operator", None, "datong")
    change_request(
        engine,
        "req-both",
        lambda r: review(r, operator, True, None, now, calendar=CALENDAR),
        operator,
        now,
    )
    health = Actor("h", "health", None, "health")
    start = threading.Barrier(len(names))

    def answer(name: str) -> None:
        start.wait()
        change_request(
            engine,
            "req-both",
            lambda r: decide(r, health, [name], True, None, now=now),
            health,
            now,
        )

    threads = [threading.Thread(target=answer, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    stored = get_request(engine, "req-both")
    assert stored is not None and stored.state == "resolved"
    assert sorted(stored.granted()) == sorted(names)
