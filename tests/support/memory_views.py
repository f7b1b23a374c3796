"""The view store in memory, for pure tests of the merge (no database, no broker).

A batch is merged, its rows kept, and its community deltas folded at once, as a worker
does with a fold after every commit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from services.merge import records
from services.merge.batch import BatchResult, merge_batch
from services.merge.community import Folded, fold, recount_freshness
from services.merge.merge import Update
from services.merge.rows import Projects, StoredRow, Written
from services.merge.rules import COMMUNITY_SITUATION, HOUSEHOLD, RESIDENT_PROFILE
from tests.support.keys import TEST_HMAC_KEY

Stored = tuple[bool, dict[str, Any], dict[str, Any]]  # visible, record fields, provenance


class MemoryViews:
    """Rows by view and key, written by whole batches as the worker writes them."""

    def __init__(self, alert_key: bytes = TEST_HMAC_KEY) -> None:
        self.alert_key = alert_key
        self.views: dict[str, dict[str, StoredRow]] = {}
        self.changes: list[tuple[str, str, Any]] = []

    def rows(self, view: str, keys: Collection[str]) -> dict[str, StoredRow]:
        """Stored rows of ``view`` among ``keys``."""
        held = self.views.get(view, {})
        return {k: held[k] for k in keys if k in held}

    def projects(self, communities: Collection[str]) -> dict[str, Projects]:
        """Renovation projects of each community."""
        held = self.views.get(COMMUNITY_SITUATION.name, {})
        found = {c: records.renovation_projects(held[c].row) for c in communities if c in held}
        return {c: p for c, p in found.items() if p}

    def household_keys(self, community: str) -> list[str]:
        """Households stored for a community."""
        held = self.views.get(HOUSEHOLD.name, {})
        return [k for k, s in held.items() if s.community_code == community]

    def freshness(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, int]]:
        """Newest event time per department over the residents and households in a community."""
        found = {}
        for community, departments in wanted.items():
            rows = [
                s
                for view in (RESIDENT_PROFILE.name, HOUSEHOLD.name)
                for s in self.views.get(view, {}).values()
                if s.community_code == community
            ]
            newest = recount_freshness(rows)
            found[community] = {d: t for d, t in newest.items() if d in departments}
        return found

    def merge(self, updates: Iterable[Update]) -> BatchResult:
        """Merge one batch, keep what it wrote, and fold its community deltas."""
        result = merge_batch(list(updates), self, self.alert_key)
        self._keep(result.written)
        folded: Folded = fold(result.deltas, self) if result.deltas else Folded()
        self._keep(folded.written)
        return result

    def _keep(self, written: Written) -> None:
        for view, rows in written.rows.items():
            for stored in rows:
                self.views.setdefault(view, {})[stored.row.key] = stored
        self.changes += [(c.view, c.key, c.record) for c in written.changes]

    def records(self, view: str) -> dict[str, Stored]:
        """Every stored row of a view as the database holds it: (visible, data, provenance)."""
        return {
            key: (s.visible, dict(s.record or {}), dict(s.provenance))
            for key, s in self.views.get(view, {}).items()
        }

    def shown(self, view: str) -> dict[str, Stored]:
        """Only the rows the view shows."""
        return {k: v for k, v in self.records(view).items() if v[0]}


VIEWS = ("resident_profile", "household", "community_situation", "alert")


def pure_views(
    updates: list[Update], batch: int = 500, alert_key: bytes = TEST_HMAC_KEY
) -> dict[str, dict[str, Stored]]:
    """What the pure merge makes of ``updates`` in every view: the rows each view shows."""
    memory = MemoryViews(alert_key)
    for start in range(0, len(updates), batch):
        memory.merge(updates[start : start + batch])
    return {view: memory.shown(view) for view in VIEWS}


def merged_views(*batches: Iterable[list[Update]]) -> MemoryViews:
    """Views after merging each batch of events in turn."""
    views = MemoryViews()
    for batch in batches:
        views.merge(one for made in batch for one in made)
    return views
