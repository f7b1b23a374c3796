"""A merge worker killed with SIGKILL at seeded points ends with the views of an unkilled one."""

from __future__ import annotations

import random
import signal
from collections.abc import Callable
from functools import partial

import pytest
import sqlalchemy as sa

from tests.support.demo_events import updates_of
from tests.support.hub import Hub
from tests.support.memory_views import pure_views
from tests.support.pipeline import deliver, merged_events
from tests.support.seeded_load import SEED, seeded_load
from tests.support.stored_views import shown_rows, view_rows

pytestmark = pytest.mark.integration


def _merged_at_least(hub: Hub, count: float) -> bool:
    return merged_events(hub) >= count


def _pending_outbox(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM outbox"))
            return int(count.scalar() or 0)
    finally:
        engine.dispose()


def test_a_worker_killed_at_seeded_points_ends_with_the_same_views(
    start_broker: Callable[[], str],
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    rng = random.Random(SEED)
    print(f"recovery seed {SEED}")
    batch = {"DATONG_BATCH_SIZE": "40"}
    crashed = make_hub(start_broker(), database_url, **batch)
    events = seeded_load(crashed, 400, rng)
    # An uninterrupted run ends in what the pure merge makes of the events (any order).
    expected = pure_views(updates_of(events), alert_key=crashed.settings.hmac_key)
    deliver(crashed, events)

    kill_at = sorted(rng.uniform(0.1, 0.9) for _ in range(3))
    progress = 0.0
    for fraction in kill_at:
        worker = crashed.start("worker")
        target = len(events) * fraction
        crashed.wait_for(
            partial(_merged_at_least, crashed, target - progress),
            f"{target:.0f} events merged before the kill",
        )
        progress += merged_events(crashed)
        crashed.kill(worker, signal.SIGKILL)
    crashed.start("worker")

    crashed.wait_for(
        lambda: shown_rows(database_url) == expected,
        f"the killed run (kills at {[f'{f:.2f}' for f in kill_at]}) to converge",
        timeout_s=120,
    )
    crashed.wait_for(lambda: _pending_outbox(database_url) == 0, "the outbox to drain")
    assert any(not visible for visible, _, _ in view_rows(database_url).values()), (
        "deregistrations ran"
    )
    situations = [data for _, data, _ in expected["community_situation"].values()]
    residents = expected["resident_profile"].values()
    assert sum(s["residents"] for s in situations) == len(residents), "no double counts"
    assert sum(sum(s["health_status_counts"].values()) for s in situations) == sum(
        1 for _, data, _ in residents if data["health_status"]
    )
