"""A merge worker SIGKILLed inside and between its transactions ends with the oracle's views.

Where each kill lands is proven, not guessed: the worker writes test marks
(``DATONG_TEST_MARKS``) and halts at a seeded batch's mark, inside its merge transaction or
right after the commit, before anything of it is published; the kill follows the mark.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from tests.support.expected_views import MatchesOracle
from tests.support.faults.harness import unpublished
from tests.support.hub import Hub
from tests.support.marks import halted, kill_at_mark
from tests.support.oracle import oracle_views
from tests.support.pipeline import deliver
from tests.support.seeded_load import SEED, seeded_load
from tests.support.stored_views import view_rows

pytestmark = pytest.mark.integration

BATCH = 40


def test_a_worker_killed_inside_and_after_its_transactions_ends_with_the_oracles_views(
    start_broker: Callable[[], str],
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    rng = random.Random(SEED)
    print(f"recovery seed {SEED}")
    crashed = make_hub(start_broker(), database_url, DATONG_BATCH_SIZE=str(BATCH))
    events = seeded_load(crashed, 400, rng)
    # An uninterrupted run ends in the oracle's views of the events, in any order.
    expected = oracle_views(events, alert_key=crashed.settings.hmac_key)
    deliver(crashed, events)

    points = ["inside", "committed", rng.choice(("inside", "committed"))]
    most = max(1, len(events) // BATCH // (2 * len(points)))
    targets = [(point, rng.randint(1, most)) for point in points]
    marks = crashed.tmp / "marks"
    for point, batch in targets:
        kill_at_mark(crashed, marks, point, batch)
    crashed.start("worker")

    matches = MatchesOracle(database_url, expected)
    try:
        crashed.wait_for(matches, f"the run killed at {targets} to converge", timeout_s=120)
    except BaseException:
        print(matches.account())
        raise
    crashed.wait_for(lambda: unpublished(database_url) == 0, "the outbox to drain")
    assert [(h.mark, h.count) for h in halted(marks)] == targets, "every kill at its mark"
    landed = Counter(h.mark for h in halted(marks))
    assert landed["inside"] >= 1 and landed["committed"] >= 1, "kills at both points"
    assert any(not visible for visible, _, _ in view_rows(database_url).values()), (
        "deregistrations ran"
    )
