"""After `datong up --demo` (what `make run` starts), the dashboard is a live one: a week of
history on its charts, green freshness for the departments that send, and changes arriving
without a reload. Screenshots are kept beside the test's files (a phone and a wide screen).

The oracles: the history the API serves to the page's token (its oldest point more than six
days old, one vertex on the chart for each point), the feed's own list of sending
departments, and the page's text before and after the feed's next events.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from connectors.demo import Manifest, build_population
from connectors.demo.live import EVERY_ROUND
from tests.support.accessibility import blocking_violations
from tests.support.browser import phone_page, screenshot
from tests.support.machine import ROOT
from tests.support.up import Up, start_up
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

AUDIENCE = "community-dashboard"
DAY_MS = 86_400_000


@pytest.fixture
def page() -> Iterator[Page]:
    with phone_page() as page:
        yield page


def _token(up: Up) -> str:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "tokens", "create", "--audience", AUDIENCE],
        env=up.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _community(up: Up) -> str:
    engine = sa.create_engine(f"sqlite:///{up.var / 'datong.db'}")
    try:
        with engine.connect() as conn:
            codes = conn.execute(
                sa.text("SELECT key FROM view_row WHERE view = 'community_situation'")
            ).scalars()
            (code,) = list(codes)
            return str(code)
    finally:
        engine.dispose()


def _polyline_span(page: Page, chart: str) -> tuple[int, float]:
    """How many vertices the chart's line has, and the share of its time axis it covers."""
    vertices, covered = page.evaluate(
        """(id) => {
          const svg = document.getElementById(id);
          const axis = svg.querySelector("line.axis");
          const line = svg.querySelector("polyline");
          if (!line) return [0, 0];
          const xs = line.getAttribute("points").trim().split(/\\s+/).map((p) => +p.split(",")[0]);
          const x1 = +axis.getAttribute("x1"), x2 = +axis.getAttribute("x2");
          return [xs.length, (Math.max(...xs) - Math.min(...xs)) / (x2 - x1)];
        }""",
        chart,
    )
    return int(vertices), float(covered)


def test_after_up_with_the_demo_the_dashboard_shows_a_week_green_feeds_and_moves_live(
    tmp_path: Path, page: Page
) -> None:
    up = start_up(tmp_path, "--demo", "--communities", "1", "--residents", "300")
    try:
        up.wait_for_banner()
        wait_for(
            lambda: "snapshots added" in up.printed(), what="the week's history", timeout_s=300
        )
        token, code = _token(up), _community(up)
        api = f"http://127.0.0.1:{up.api_port}"
        history = httpx.get(
            f"{api}/views/community_situation/{code}/history?days=7",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["points"]
        now_ms = time.time() * 1000
        assert now_ms - history[0]["taken_at"] > 6 * DAY_MS, "a week of history"

        page.goto(f"{api}/?token={token}")
        expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
        page.evaluate("window.notReloaded = true")
        vertices, covered = _polyline_span(page, "trend-quarantined")
        # The history's points but the last (the current row), and the live point; the
        # oldest may have left the week in the moment between the API's answer and the page's.
        assert len(history) - 1 <= vertices <= len(history), (vertices, len(history))
        assert covered > 6 / 7, f"the line covers {covered:.0%} of the week"

        for department in EVERY_ROUND:  # housing reports once a minute, if at all
            expect(page.get_by_test_id(f"freshness-{department}")).to_have_class("fresh")
        legend = page.locator("#health-legend")
        before = legend.text_content()
        expect(legend).not_to_have_text(before or "", timeout=60_000)
        assert page.evaluate("window.notReloaded") is True
        assert blocking_violations(page) == []
        screenshot(page, "live-dashboard")
        browser = page.context.browser
        assert browser is not None
        wide = browser.new_page(viewport={"width": 1280, "height": 900})
        wide.goto(f"{api}/?token={token}")
        expect(wide.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
        expect(wide.locator("#trend-quarantined polyline")).to_have_count(1)
        screenshot(wide, "live-dashboard-wide")

        up.process.send_signal(signal.SIGINT)  # Ctrl-C: the live feed stops with the rest
        assert up.process.wait(60) == 0, up.printed()[-3000:]
        printed = up.printed()
        assert "demo live: sent" in printed
        # The feed names residents by ID number to the intake only: no log line holds one.
        manifest = Manifest.load(up.var / "demo" / "manifest.json")
        population = build_population(
            manifest.communities,
            manifest.residents,
            manifest.seed,
            datetime.fromisoformat(manifest.as_of),
        )
        for person in population.residents:
            assert person.id_number not in printed and person.name not in printed
    finally:
        up.kill_if_running()
