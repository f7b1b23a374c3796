"""A whole sharing request through the governance page, in a real browser on a phone:
a department files it, the operator reviews it, the owning department grants one conditional
field and refuses another with a reason. The requester's token then reads the granted field
and gets 403 for the refused one, through the query API and an open SSE stream, which ends
soon after the request is withdrawn. An overdue request shows in red.

A running API process (``datong api``) over the embedded broker and PostgreSQL; the view
topic carries residents published as the hub's records.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from schemas.catalog import Catalog
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.access.request_steps import file_request
from services.access.request_store import add_request
from services.access.sharing_requests import Actor, Filing
from services.access.tokens import create_token
from services.access.working_days import WorkingCalendar
from services.store.database import create_engine, create_schema
from tests.support.accessibility import blocking_violations
from tests.support.browser import phone_page, screenshot
from tests.support.hub import Hub, make_env
from tests.support.pipeline import answers_ok
from tests.support.sse_client import SseClient
from tests.support.view_rows import seed_rows
from tests.support.view_topics import publish_view_rows
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

COMMUNITY = "110105001001"
BOUND_S = 5.0  # generous: the target is a second (the stream's allowance interval is 0.5 s)
CIVIL = "civil-affairs"  # reads resident_profile, but neither health_status nor test results
CALENDAR = WorkingCalendar()  # the installed package's: 2026 is in it


@dataclass
class Api:
    """A running API process, its store and its broker."""

    url: str
    engine: sa.Engine
    bootstrap: str


@pytest.fixture
def api(start_broker: Callable[[], str], database_url: str, tmp_path: Path) -> Iterator[Api]:
    env = make_env(start_broker(), database_url, tmp_path / "var")
    engine = create_engine(database_url)
    create_schema(engine)
    hub = Hub(env, tmp_path)
    try:
        hub.start("api")
        url = f"http://127.0.0.1:{env['DATONG_API_PORT']}"
        hub.wait_for(lambda: answers_ok(f"{url}/readyz"), "the API")
        yield Api(url, engine, env["DATONG_KAFKA_BOOTSTRAP"])
    finally:
        hub.stop()
        engine.dispose()


def token(engine: sa.Engine, **holder: str) -> str:
    return create_token(engine, **holder).secret


def as_holder(page: Page, url: str, secret: str) -> None:
    page.goto(f"{url}/governance?token={secret}")
    expect(page.get_by_test_id("requests")).to_be_visible()
    assert "token=" not in page.url  # the secret leaves the address bar


def file_an_overdue_request(engine: sa.Engine) -> None:
    """A request filed on Wed 2 December 2026, its review due Fri 4 December: late now."""
    contracts = Catalog.load()
    owners = next(v for v in contracts.views() if v.view == "household").field_owners
    filing = Filing(CIVIL, "household", ("quarantined",), "deliveries", "winter", 366)
    by = Actor("t", "civil", CIVIL, None)
    policy = load_policy(DEFAULT_POLICY_FILE, contracts)
    filed_at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    add_request(
        engine,
        file_request(filing, by, policy, owners, "req-late", now=filed_at, calendar=CALENDAR),
        by,
    )


def subscribe(url: str, secret: str, field: str) -> SseClient:
    headers = {"Authorization": f"Bearer {secret}"}
    return SseClient(f"{url}/subscribe/resident_profile?fields={field}", headers)


def file_on_the_page(page: Page) -> str:
    """File the request as the requester; returns its id."""
    page.get_by_test_id("file-view").fill("resident_profile")
    page.get_by_test_id("file-fields").fill("health_status, latest_test_result")
    page.get_by_test_id("file-purpose").fill("welfare visits to residents in poor health")
    page.get_by_test_id("file-scenario").fill("winter visits")
    page.get_by_test_id("file-submit").click()
    filed = page.locator('[data-state="filed"]').filter(has_text="resident_profile")
    expect(filed).to_be_visible()
    request_id = filed.get_attribute("data-request")
    assert request_id and request_id != "req-late"
    return request_id


def review_on_the_page(page: Page, request_id: str) -> None:
    """As the operator: the late request is red; the new one conforms."""
    late = page.locator('[data-request="req-late"]')
    expect(late).to_have_attribute("data-overdue", "true")
    expect(late.locator(".overdue")).to_contain_text("OVERDUE")
    red = late.locator(".overdue").evaluate("e => getComputedStyle(e).color")
    assert red == "rgb(180, 35, 24)"  # --red-ink
    mine = page.locator(f'[data-request="{request_id}"]')
    mine.get_by_test_id("review-conforms").click()
    expect(mine).to_have_attribute("data-state", "forwarded")


def answer_on_the_page(page: Page, request_id: str) -> None:
    """As the health department: grant health_status, refuse latest_test_result."""
    mine = page.locator(f'[data-request="{request_id}"]')
    mine.get_by_test_id("grant-health_status").click()
    expect(mine.locator('[data-field="health_status"]')).to_have_class("decision-granted")
    mine.get_by_test_id("reason-latest_test_result").fill("test results serve epidemic work")
    mine.get_by_test_id("refuse-latest_test_result").click()
    expect(mine).to_have_attribute("data-state", "resolved")
    expect(mine.locator('[data-field="latest_test_result"]')).to_contain_text(
        "test results serve epidemic work"
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_request_filed_reviewed_and_answered_on_the_page_opens_exactly_what_was_granted(
    api: Api, tmp_path: Path
) -> None:
    url, engine = api.url, api.engine
    civil, operator = token(engine, audience=CIVIL), token(engine, department="datong")
    health = token(engine, department="health")
    reader = {"Authorization": f"Bearer {civil}"}

    def query(field: str) -> int:
        params = {"fields": field, "community": COMMUNITY}
        return httpx.get(f"{url}/views/resident_profile", headers=reader, params=params).status_code

    file_an_overdue_request(engine)
    with phone_page() as page:
        as_holder(page, url, civil)
        request_id = file_on_the_page(page)
        assert blocking_violations(page) == []
        as_holder(page, url, operator)
        review_on_the_page(page, request_id)
        assert blocking_violations(page) == []
        as_holder(page, url, health)
        answer_on_the_page(page, request_id)
        screenshot(page, "governance")

        assert query("health_status") == 200
        assert query("latest_test_result") == 403
        refused = subscribe(url, civil, "latest_test_result")
        granted = subscribe(url, civil, "health_status")
        try:
            wait_for(lambda: refused.status is not None, 30, what="the refused subscription")
            assert refused.status == 403
            wait_for(lambda: "subscribed" in granted.comments, 30, what="the subscription")
            rows = [r for r in seed_rows([COMMUNITY], 3) if r.view == "resident_profile"]
            publish_view_rows(api.bootstrap, engine, rows)
            wait_for(lambda: len(granted.events) >= len(rows), 30, what="the residents live")
            first: dict[str, Any] = granted.events[0].data
            assert "health_status" in str(first) and "latest_test_result" not in str(first)

            as_holder(page, url, civil)
            page.locator(f'[data-request="{request_id}"]').get_by_test_id("withdraw").click()
            withdrawn_at = time.monotonic()
            wait_for(lambda: granted.ended, BOUND_S, what="the stream to end on withdrawal")
            assert time.monotonic() - withdrawn_at < BOUND_S
        finally:
            granted.close()
            refused.close()
    assert query("health_status") == 403
