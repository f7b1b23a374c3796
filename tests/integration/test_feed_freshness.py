"""A worker started over a store that already holds a department's events exports how old
its newest event is at once, with the department's cadence: a feed that went quiet before
a restart still alerts after it."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from connectors.identity import person_key
from services.store.database import create_engine, create_schema, disposing
from services.store.models import ViewRow
from tests.support.factories import health_event, registry_rows, write_registry_csv
from tests.support.hub import Hub
from tests.support.pipeline import T0, publish_health, run_connector
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

COMMUNITY_A, COMMUNITY_B = "610103001001", "610103001002"


def _situation(community: str, freshness: dict[str, int]) -> ViewRow:
    return ViewRow(
        view="community_situation",
        key=community,
        community_code=community,
        visible=True,
        data={"residents": 1, "department_freshness": freshness},
        provenance={},
        state={},
        version=1,
    )


def _first_exposition(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text: str = response.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None
    return text


def _samples(text: str, name: str) -> dict[str, float]:
    return {
        sample.labels["department"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_a_fresh_worker_exports_the_stores_newest_event_per_department_at_once(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    database_url: str,
) -> None:
    # Health last fed three days ago (before the restart); housing an hour ago.
    now = datetime.now(UTC)
    health_ms = int((now - timedelta(days=3)).timestamp() * 1000)
    housing_ms = int((now - timedelta(hours=1)).timestamp() * 1000)
    with disposing(create_engine(database_url)) as engine:
        create_schema(engine)
        with Session(engine) as session, session.begin():
            session.add_all(
                [
                    _situation(COMMUNITY_A, {"health": health_ms, "housing": housing_ms - 5000}),
                    _situation(COMMUNITY_B, {"health": health_ms - 60_000, "housing": housing_ms}),
                ]
            )
    hub = make_hub(
        start_broker(), database_url, DATONG_FEED_CADENCE="health=3h", DATONG_FEED_HOURS="7-19"
    )

    hub.start("worker")

    url = f"http://127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}/metrics"
    text = wait_for(lambda: _first_exposition(url), what="the worker's first /metrics")
    assert _samples(text, "datong_feed_last_event_time_seconds") == {
        "health": health_ms / 1000,
        "housing": housing_ms / 1000,
    }
    cadence = _samples(text, "datong_feed_cadence_seconds")
    assert cadence["health"] == 3 * 3600
    assert cadence["housing"] == 26 * 3600
    assert set(cadence) == {
        "civil-affairs",
        "commerce",
        "grid",
        "health",
        "housing",
        "public-security",
        "utilities",
    }


def test_a_department_quiet_since_before_a_restart_shows_its_age_after_it(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    database_url: str,
) -> None:
    hub = make_hub(start_broker(), database_url, DATONG_FRESHNESS_INTERVAL_S="0.5")
    hub.start("api")  # the connector looks its schema ids up in the API's registry
    rows = registry_rows(3, seed=16)
    run_connector(hub, str(write_registry_csv(hub.tmp / "registry.csv", rows)))
    key = person_key(rows[0].id_number, hub.settings.hmac_key)
    publish_health(hub, [health_event(key, "RED", T0)])
    first = hub.start("worker")
    url = f"http://127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}/metrics"

    def health_seen() -> bool:
        text = _first_exposition(url)
        return text is not None and "health" in _samples(
            text, "datong_feed_last_event_time_seconds"
        )

    hub.wait_for(health_seen, "the worker to fold health's event into its community")
    hub.kill(first)  # health sends nothing more; the worker is replaced

    hub.start("worker")

    text = hub.wait_for(lambda: _first_exposition(url), "the new worker's first /metrics")
    assert _samples(text, "datong_feed_last_event_time_seconds")["health"] == T0.timestamp()
