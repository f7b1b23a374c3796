"""The dashboard in a real browser: the demo community's numbers for the dashboard's audience,
and an alert arriving live for an audience granted its type.

Seeded through the real pipeline: the demo's exports -> every department's connector ->
source topics -> a merge worker -> views -> the API the page reads and subscribes to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from connectors.base import Event
from connectors.demo import generate
from connectors.publisher import KafkaPublisher
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.access.tokens import create_token
from services.store.database import create_engine
from services.store.registry_store import SqlRegistry
from tests.support.accessibility import blocking_violations
from tests.support.browser import phone_page
from tests.support.factories import health_event
from tests.support.hub import Hub
from tests.support.pipeline import merged_events
from tests.support.stored_views import view_rows

pytestmark = pytest.mark.integration


@pytest.fixture
def page() -> Iterator[Page]:
    with phone_page() as page:
        yield page


def feed_demo(hub: Hub) -> int:
    """Run the departments' connectors over a small demo; return how many events went out.

    The utilities' meter readings (the largest export, feeding only welfare-check alerts) are
    left out to keep the test short; everything the test reads comes from the others.
    """
    out = hub.tmp / "demo"
    manifest = generate(out, communities=1, residents=120, seed=3)
    first, *rest = manifest.departments  # housing builds the gazetteer the others resolve with
    published = run_connectors(hub, [first])
    return published + run_connectors(hub, [d for d in rest if d != "utilities"])


def run_connectors(hub: Hub, departments: list[str]) -> int:
    started = [
        (
            hub.start("connector", "run", d, "--source", str(hub.tmp / "demo" / d)),
            len(hub.processes),
        )
        for d in departments
    ]
    published = 0
    for process, number in started:
        assert process.wait(120) == 0, hub.logs()[-3000:]
        log = (hub.tmp / f"connector-{number - 1}.log").read_text()
        for line in log.splitlines():
            if line.startswith("{"):  # one summary per file, then the resolution queue's
                summary = json.loads(line)
                published += summary.get("published", 0)
                published += summary.get("resolution_queue", {}).get("resolved", 0)
    return published


def rows_of(hub: Hub, view: str) -> dict[str, dict[str, Any]]:
    """The visible records of a view, straight from the store."""
    return {
        key: data
        for key, (visible, data, _) in view_rows(hub.env["DATONG_DATABASE_URL"], view).items()
        if visible
    }


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_dashboard_shows_the_demo_community_and_a_new_alert_live_to_those_granted_it(
    start_broker: Any, database_url: str, make_hub: Any, page: Page
) -> None:
    hub: Hub = make_hub(start_broker(), database_url)
    hub.start("api")  # the connectors look their schema ids up in the API's registry
    published = feed_demo(hub)  # before the worker: it then merges in large batches
    hub.start("worker")
    hub.wait_for(lambda: merged_events(hub) >= published, f"all {published} demo events merged")
    (code, _), *others = rows_of(hub, "community_situation").items()
    assert not others, "the demo has one community"

    api = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"
    page.goto(f"{api}/?token={token_of(hub, 'community-dashboard')}")
    expect(page.get_by_test_id("community")).to_have_value(code)  # the only one, listed
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    assert "token=" not in page.url, "the token leaves the address bar"
    # The page follows the view live, so it shows whatever the store holds, once merged.
    shown = hub.wait_for(
        lambda: (s := rows_of(hub, "community_situation")[code]) == shows(page, s) and s,
        "the page to show the community_situation row",
    )
    assert shown["residents"] > 0 and sum(shown["health_status_counts"].values()) > 0

    # The health department reads the alerts themselves (RED_STATUS among the types its
    # policy grants), on a page of its own.
    browser = page.context.browser
    assert browser is not None
    health = browser.new_page(viewport={"width": 390, "height": 844})
    health.goto(f"{api}/?token={token_of(hub, 'health-department')}")
    expect(health.get_by_test_id("community")).to_have_value(code)
    expect(health.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    health.evaluate("window.notReloaded = true")
    person, profile = next(
        (k, r) for k, r in rows_of(hub, "resident_profile").items() if r["health_status"] != "RED"
    )
    publish_red_status(hub, person)
    alert_id = hub.wait_for(
        lambda: next(
            (k for k, a in rows_of(hub, "alert").items() if a["subject_key"] == person), None
        ),
        "the red-status alert in the view",
    )
    expect(health.locator(f'[data-testid=alerts] li[data-alert-id="{alert_id}"]')).to_be_visible()
    assert health.evaluate("window.notReloaded") is True
    # Readable while it flashes too: hold the new alert's highlight at its strongest colour.
    health.evaluate("document.getAnimations().forEach(a => { a.pause(); a.currentTime = 0; })")
    assert blocking_violations(health) == []
    health.evaluate("document.getAnimations().forEach(a => a.finish())")
    assert profile["community_code"] == code
    # The dashboard's audience sees the count go up, and no alert: it reads counts only.
    red = hub.wait_for(
        lambda: (n := _red(rows_of(hub, "community_situation")[code])) > _red(shown) and n,
        "the situation to count one more RED status",
    )
    expect(page.get_by_test_id("health-RED")).to_have_text(str(red))
    expect(page.locator("[data-testid=alerts] li")).to_have_count(0)
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")

    page.get_by_label("person_key").fill(person)  # the dashboard's audience reads no profiles
    page.get_by_role("button", name="查询 Look up").click()
    expect(page.get_by_test_id("lookup")).to_contain_text("not shared with this token")
    for shown_page in (page, health):  # readable by everyone: no serious accessibility fault
        assert blocking_violations(shown_page) == []


def _red(situation: dict[str, Any]) -> int:
    return int(situation["health_status_counts"].get("RED", 0))


def token_of(hub: Hub, audience: str) -> str:
    """A token of one of the shipped policy's audiences."""
    engine = create_engine(hub.env["DATONG_DATABASE_URL"])
    try:
        return create_token(engine, audience=audience).secret
    finally:
        engine.dispose()


FIGURES = ("residents", "households", "elderly_living_alone", "disabled_residents")


def shows(page: Page, situation: dict[str, Any]) -> dict[str, Any]:
    """``situation`` with the figures and health counts replaced by what the page shows."""
    shown = dict(situation)
    for field in FIGURES:
        shown[field] = int(page.get_by_test_id(f"figure-{field}").text_content() or -1)
    shown["health_status_counts"] = {
        status: int(page.get_by_test_id(f"health-{status}").text_content() or -1)
        for status in situation["health_status_counts"]
    }
    return shown


def publish_red_status(hub: Hub, person: str) -> None:
    """The health platform turns one resident's code RED, now."""
    engine = create_engine(hub.env["DATONG_DATABASE_URL"])
    publisher = KafkaPublisher(hub.settings.bootstrap, Serde(Catalog.load(), SqlRegistry(engine)))
    try:
        record = health_event(person, "RED", datetime.now(UTC), event_id=f"health:red:{person}")
        publisher.publish(Event("health", "health-status-changed", person, record))
        publisher.flush()
    finally:
        publisher.close()
        engine.dispose()
