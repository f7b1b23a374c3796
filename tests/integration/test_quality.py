"""Feed quality scorecards over the real pipeline: the demo's exports through every
department's connector, the quality consumer counting the topics into the store, the API
answering ``/quality``; the figures equal the demo manifest's, department by department and
reason by reason, and the page shows them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from connectors.demo import generate
from services.access.tokens import create_token
from services.store.database import create_engine
from tests.support.accessibility import blocking_violations
from tests.support.browser import phone_page, screenshot
from tests.support.hub import Hub
from tests.support.quality import expected_totals, scorecards, shown_totals

pytestmark = pytest.mark.integration


@pytest.fixture
def page() -> Iterator[Page]:
    with phone_page() as page:
        yield page


def token(hub: Hub, **owner: str) -> str:
    engine = create_engine(hub.env["DATONG_DATABASE_URL"])
    try:
        return create_token(engine, **owner).secret
    finally:
        engine.dispose()


def run_all_connectors(hub: Hub, departments: list[str]) -> None:
    first, *rest = departments  # housing builds the gazetteer the others resolve with
    for group in ([first], rest):
        started = [
            hub.start("connector", "run", d, "--source", str(hub.tmp / "demo" / d)) for d in group
        ]
        for process in started:
            assert process.wait(180) == 0, hub.logs()[-3000:]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_scorecards_match_the_demo_manifest_for_every_department_and_reason(
    start_broker: Any, database_url: str, make_hub: Any, page: Page, tmp_path: Path
) -> None:
    hub: Hub = make_hub(start_broker(), database_url)
    hub.start("api")  # the connectors look their schema ids up in the API's registry
    hub.start("quality")
    manifest = generate(hub.tmp / "demo", communities=1, residents=120, seed=3)
    run_all_connectors(hub, list(manifest.departments))
    expected = {d: expected_totals(manifest, d) for d in manifest.departments}
    assert sum(sum(e["rejected_by_reason"].values()) for e in expected.values()) > 0
    assert sum(e["parked"] for e in expected.values()) > 0, "the demo parks some addresses"

    operator = token(hub, audience="community-dashboard")
    cards = hub.wait_for(
        lambda: (
            (c := scorecards(hub, operator))
            and {d: shown_totals(c[d]) for d in expected} == expected
            and c
        ),
        "every department's scorecard to reach the manifest's counts",
    )
    for department, card in cards.items():
        timeliness = card["totals"]["timeliness"]
        assert timeliness["events"] == expected[department]["published"]
        assert timeliness["p50_s"] <= timeliness["p95_s"]
        assert card["freshness_s"] is not None

    # The metrics count the same rows, once each: timeliness per event, rows by outcome.
    scraped = httpx.get(
        f"http://127.0.0.1:{hub.env['DATONG_QUALITY_METRICS_PORT']}/metrics", timeout=30
    ).text
    for department, figures in expected.items():
        labels = f'department="{department}"'
        assert (
            f"datong_feed_timeliness_seconds_count{{{labels}}} {figures['published']}.0" in scraped
        )
        rejected = sum(figures["rejected_by_reason"].values())
        if rejected:
            assert f'datong_feed_rows_total{{{labels},outcome="rejected"}} {rejected}.0' in scraped

    # A department reads its own feed, and no other.
    api = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"
    health = {"Authorization": f"Bearer {token(hub, department='health')}"}
    own = httpx.get(f"{api}/quality/health", headers=health, timeout=30)
    assert own.status_code == 200
    assert shown_totals(own.json()) == expected["health"]
    other = httpx.get(f"{api}/quality/housing", headers=health, timeout=30)
    assert (other.status_code, other.json()["field"]) == (403, "department")
    reader = {"Authorization": f"Bearer {token(hub, audience='health-department')}"}
    assert httpx.get(f"{api}/quality/health", headers=reader, timeout=30).status_code == 403
    unknown = httpx.get(f"{api}/quality/nobody", headers=health, timeout=30)
    assert (unknown.status_code, unknown.json()["field"]) == (404, "department")
    assert httpx.get(f"{api}/quality/health", timeout=30).status_code == 401

    page.goto(f"{api}/quality?token={operator}")
    for department, figures in expected.items():
        row = page.get_by_test_id(f"feed-{department}")
        expect(row.get_by_test_id("received")).to_have_text(str(figures["received"]))
        expect(row.get_by_test_id("published")).to_have_text(str(figures["published"]))
        expect(row.get_by_test_id("parked")).to_have_text(str(figures["parked"]))
        for reason, count in figures["rejected_by_reason"].items():
            expect(row.get_by_test_id(f"rejected-{reason}")).to_have_text(str(count))
    screenshot(page, "quality")
    assert blocking_violations(page) == []
