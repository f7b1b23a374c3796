"""The oracle checked against the spec: the folded truth is what ``merge.apply`` gives, in any
order of arrival, with any event repeated (pure, no broker)."""

from __future__ import annotations

import random

from schemas.catalog import Catalog
from services.merge import rules
from services.merge.merge import Row, Update, apply, empty_row
from tests.faults.conftest import seeded
from tests.faults.truth import Rows, fold, updates_of
from tests.faults.workload import resident_events

KEY = b"k" * 32  # the HMAC key of person_key


def _applied(updates: list[Update]) -> Rows:
    spec = rules.RESIDENT_PROFILE
    rows: dict[str, Row] = {}
    for update in updates:
        rows[update.key] = apply(
            rows.get(update.key) or empty_row(update.key), update, spec.owners
        ).row
    return {
        key: (
            spec.visible(row.values),
            dict(row.values),
            {n: [p.department, p.event_id, p.event_time_ms] for n, p in row.provenance.items()},
        )
        for key, row in rows.items()
    }


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
