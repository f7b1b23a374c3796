"""Health data in the community situation, through the broker, the worker and the store.

A hub with an epidemic's test window of 48 hours merges registrations, tests, care
assessments and vaccinations published as their departments would. Its worker renders the
community's count of residents without a negative test within the window, and the count
moves with time alone: rendered again by a processor whose clock is two days later, with no
event. Readers get the counts only as their policy grants them, small ones as null.
"""

from __future__ import annotations

import hashlib
import signal
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.access.tokens import create_token
from services.api.app import create_api
from services.merge.processor import MergeProcessor
from services.metrics import MergeMetrics
from services.store.database import create_engine
from services.store.merge_store import open_merge_store
from services.store.registry_store import SqlRegistry
from tests.support.hub import Hub
from tests.support.oracle import events as make
from tests.support.pipeline import deliver
from tests.support.stored_views import view_rows

pytestmark = pytest.mark.integration

WINDOW = "48"


def key(run: str, n: int) -> str:
    return hashlib.sha256(f"{run}:{n}".encode()).hexdigest()


def situation(database_url: str, community: str) -> dict[str, Any] | None:
    visible, data, _ = view_rows(database_url, "community_situation").get(
        community, (False, {}, {})
    )
    return dict(data) if visible else None


def read(client: TestClient, engine: Any, audience: str, community: str) -> dict[str, Any]:
    secret = create_token(engine, audience=audience).secret
    response = client.get(
        f"/views/community_situation/{community}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_count_without_a_recent_negative_test_follows_the_window_and_the_clock(
    broker: str, database_url: str, make_hub: Callable[..., Hub]
) -> None:
    hub = make_hub(broker, database_url, DATONG_EPIDEMIC_TEST_WINDOW_HOURS=WINDOW)
    run = uuid.uuid4().hex[:8]
    community = f"9{int(run, 16) % 10**11:011d}"  # only this test's residents live here
    people = [key(run, n) for n in range(8)]
    now = datetime.now(UTC)
    # By hand, with a 48-hour window: people 0 and 1 have a negative test of an hour or two
    # ago; 2's negative is three days old, 3 tested positive, 4 to 7 never tested. 6 without.
    # Elderly living alone: 4, 5 and 6; 6 is vaccinated. 2 of them unvaccinated.
    events = [
        *(
            make.registered(p, now - timedelta(days=30), f"D-{run}-{i}", community)
            for i, p in enumerate(people)
        ),
        make.tested(
            people[0], "NEGATIVE", now - timedelta(hours=1), sampled=now - timedelta(hours=2)
        ),
        make.tested(people[1], "NEGATIVE", now - timedelta(hours=1)),
        make.tested(
            people[2], "NEGATIVE", now - timedelta(hours=70), sampled=now - timedelta(hours=72)
        ),
        make.tested(people[3], "POSITIVE", now - timedelta(hours=1)),
        *(make.assessed(people[i], now - timedelta(days=20), alone=True) for i in (4, 5, 6)),
        make.vaccination(people[6], now - timedelta(days=10), dose=2),
    ]
    deliver(hub, events)
    worker = hub.start("worker")
    shown = hub.wait_for(
        lambda: (
            (s := situation(database_url, community))
            and s["residents"] == 8
            and s["elderly_living_alone"] == 3
            and s["elderly_alone_unvaccinated"] == 2
            and s["residents_without_negative_test"] == 6
            and s
        ),
        "the community's situation with every event merged",
    )
    assert shown["residents_without_negative_test"] == 6
    hub.kill(worker, signal.SIGTERM)  # from here the time is the test's

    # Two days later nobody's negative test counts: rendered again with no event.
    later = now + timedelta(hours=49)
    engine = create_engine(database_url)
    store = open_merge_store(database_url)
    try:
        processor = MergeProcessor(
            store,
            Serde(Catalog.load(), SqlRegistry(engine)),
            MergeMetrics(CollectorRegistry()),
            hub.settings.hmac_key,
            clock=later.timestamp,
            test_window_h=int(WINDOW),
        )
        assert processor.refresh_due()
        outcome = processor.refresh()
        assert outcome is not None
        changed = [c for c in outcome.changes if c.key == community]
        assert [c.record[0]["residents_without_negative_test"] for c in changed if c.record] == [8]
        assert not processor.refresh_due()  # until the next hour
        assert situation(database_url, community) == {**shown, "residents_without_negative_test": 8}

        # Health reads both counts; 2 is under DATONG_MIN_SHOWN_COUNT (5), so it is null.
        settings = hub.settings
        with TestClient(create_api(settings, engine)) as client:
            health = read(client, engine, "health-department", community)
            dashboard = read(client, engine, "community-dashboard", community)
        assert (
            health["residents_without_negative_test"],
            health["elderly_alone_unvaccinated"],
        ) == (
            8,
            None,
        )
        assert health["residents"] == 8
        # An audience not granted the residents' health data reads neither count.
        assert "residents_without_negative_test" not in dashboard
        assert "elderly_alone_unvaccinated" not in dashboard
        assert dashboard["residents"] == 8
        with TestClient(create_api(replace(settings, min_shown_count=1), engine)) as client:
            whole = read(client, engine, "health-department", community)
        assert whole["elderly_alone_unvaccinated"] == 2
    finally:
        store.close()
        engine.dispose()
