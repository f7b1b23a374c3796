"""The grid worker's loop in real browsers: a grid worker takes an overdue welfare-check alert
on the dashboard, records a visit and closes it; the alert view, the overdue metric and a
second grid-office browser all show it, live. Screenshots go to var/test-artifacts/.

Seeded through the real pipeline: the departments' events -> source topics -> a merge
worker -> the alert view; each step on the page -> the API -> the grid's events -> the view.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from services.access.tokens import create_token
from services.store.database import create_engine
from tests.support.accessibility import blocking_violations
from tests.support.alert_loop import GRID_OFFICE, api_of, raise_welfare_check, stored_alert
from tests.support.browser import CHROMIUM, screenshot
from tests.support.hub import Hub

pytestmark = pytest.mark.integration


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def grid_page(browser: Browser, api: str, hub: Hub) -> Page:
    """A phone-sized page of the dashboard with a new token of the grid office."""
    engine = create_engine(hub.env["DATONG_DATABASE_URL"])
    try:
        token = create_token(engine, audience=GRID_OFFICE).secret
    finally:
        engine.dispose()
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{api}/?token={token}")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    return page


def overdue_metric(api: str) -> float:
    text = httpx.get(f"{api}/metrics", timeout=30).text
    found = re.search(r'^datong_alerts_overdue\{type="WELFARE_CHECK"\} (\S+)$', text, re.M)
    assert found, "the API serves datong_alerts_overdue"
    return float(found.group(1))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_grid_worker_takes_visits_and_closes_an_alert_seen_live_by_a_second_browser(
    start_broker: Any, database_url: str, make_hub: Any, browser: Browser
) -> None:
    # A welfare check is due within an hour here: the alert (opened 6 h ago) is overdue.
    hub: Hub = make_hub(start_broker(), database_url, DATONG_ALERT_RESPONSE_HOURS="WELFARE_CHECK=1")
    hub.start("api")
    hub.start("worker")
    api = api_of(hub)
    alert_id, _ = raise_welfare_check(hub, "browser")
    worker, office = grid_page(browser, api, hub), grid_page(browser, api, hub)
    office.evaluate("window.notReloaded = true")
    items = [
        p.locator(f'[data-testid=alerts] li[data-alert-id="{alert_id}"]') for p in (worker, office)
    ]
    for item in items:
        expect(item).to_have_class(re.compile(r"\boverdue\b"))
        expect(item.get_by_test_id("due")).to_contain_text("Overdue")
    assert overdue_metric(api) == 1
    screenshot(worker, "alert-loop-1-overdue")

    mine = items[0]
    mine.get_by_label("Worker code").fill("W-007")
    mine.get_by_role("button", name="接单 Take").click()
    for item in items:
        expect(item.get_by_test_id("assignee")).to_contain_text("W-007")
    assert stored_alert(hub, alert_id)["assignee_code"] == "W-007"
    screenshot(office, "alert-loop-2-taken-seen-by-the-office")

    mine.get_by_label("Visit outcome").select_option("DONE")
    mine.get_by_label("Note").fill("resident well, fridge stocked")
    mine.get_by_role("button", name="登记走访 Record visit").click()
    for item in items:
        expect(item).to_have_attribute("data-status", "CLOSED")
        expect(item.get_by_test_id("visit")).to_contain_text("resident well, fridge stocked")
        expect(item).not_to_have_class(re.compile(r"\boverdue\b"))
    closed = stored_alert(hub, alert_id)
    assert (closed["status"], closed["visit_outcome"], closed["assignee_code"]) == (
        "CLOSED",
        "DONE",
        "W-007",
    )
    hub.wait_for(lambda: overdue_metric(api) == 0, "the overdue metric to drop to 0")
    assert office.evaluate("window.notReloaded") is True, "the office saw it live"
    screenshot(worker, "alert-loop-3-closed")
    screenshot(office, "alert-loop-4-closed-seen-by-the-office")
    for page in (worker, office):
        page.evaluate("document.getAnimations().forEach(a => a.finish())")
        assert blocking_violations(page) == []
