"""The oracle checked against the spec: the folded truth is what the batch merge gives, in any
order of arrival, with any event repeated (pure, no broker)."""

from __future__ import annotations

import random

from schemas.catalog import Catalog
from services.merge import rules
from services.merge.merge import Update
from tests.support.faults.switches import seeded
from tests.support.faults.truth import Rows, fold, updates_of
from tests.support.faults.workload import resident_events
from tests.support.memory_views import MemoryViews

KEY = b"k" * 32  # the HMAC key of person_key


def _applied(updates: list[Update]) -> Rows:
    views = MemoryViews()
    for update in updates:
        views.merge([update])
    return views.records(rules.RESIDENT_PROFILE.name)


def test_the_folded_truth_is_what_merge_apply_gives_in_any_order() -> None:
    rng: random.Random = seeded("test_truth")
    updates = updates_of(resident_events(150, KEY, rng), Catalog.load())
    truth = fold(updates)
    assert any(not visible for visible, _, _ in truth.rows.values()), "deregistrations folded"
    for _ in range(3):
        shuffled = [u for u in updates for _ in range(rng.choice((1, 2)))]
        rng.shuffle(shuffled)
        assert _applied(shuffled) == truth.rows
        assert fold(shuffled) == truth
