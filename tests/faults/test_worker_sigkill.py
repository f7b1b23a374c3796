"""SIGKILL of a merge worker inside and between its batch transactions, again and again.

Batches of 20 flow from a backlog while the worker is killed at seeded points. Where each
kill lands is not guessed from timing: the worker runs under ``DATONG_TEST_MARKS`` and halts
at a seeded batch's mark, either inside its merge transaction (rows written, not committed)
or right after its commit (nothing published, no offset committable); the kill follows the
mark. Every restart must end in the oracle's views, and the marks file must show kills at
both points.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from services.broker import EmbeddedBroker
from tests.support.expected_views import expected_of
from tests.support.faults.harness import assert_converged, deliver
from tests.support.faults.monitor import VersionMonitor
from tests.support.faults.switches import POSTGRES_BACKENDS, scale
from tests.support.faults.workload import resident_events
from tests.support.hub import Hub
from tests.support.marks import halted, kill_at_mark

pytestmark = pytest.mark.integration

BATCH = 20
SMALL_BATCHES = {"DATONG_BATCH_SIZE": str(BATCH)}


@pytest.mark.parametrize("database_url", POSTGRES_BACKENDS, indirect=True)
def test_a_worker_killed_inside_and_between_transactions_converges_to_the_oracle(
    fault_rng: random.Random,
    fault_broker: EmbeddedBroker,
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(fault_broker.bootstrap, database_url, **SMALL_BATCHES)
    events = resident_events(scale(300, 1500), hub.settings.hmac_key, fault_rng)
    expected = expected_of(events, hub.settings.hmac_key)
    deliver(hub, events)
    kills = scale(4, 10)
    points = ["inside", "committed"] * (kills // 2)  # half before a commit, half after one
    fault_rng.shuffle(points)
    # Each worker halts within its first few batches, so that all the kills together take at
    # most half the backlog's batches: the backlog never runs out before a halt.
    most = max(1, len(events) // BATCH // (2 * kills))
    targets = [(point, fault_rng.randint(1, most)) for point in points]
    marks = hub.tmp / "marks"
    with VersionMonitor(database_url) as monitor:
        killed = [kill_at_mark(hub, marks, point, batch) for point, batch in targets]
        hub.start("worker")
        print(f"{len(events)} events, killed at {targets}")
        assert_converged([hub], database_url, expected, monitor)
    landed = Counter(h.mark for h in halted(marks))
    assert [(k.mark, k.count) for k in killed] == targets, "each kill at its mark"
    assert landed["inside"] >= 1, "a kill landed inside a merge transaction"
    assert landed["committed"] >= 1, "a kill landed between a commit and the publishing"
