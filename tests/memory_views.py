"""The view store in memory, for pure tests of the batch merge (no database, no broker)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from services.merge.batch import BatchResult, StoredRow, merge_batch
from services.merge.merge import Update
from services.merge.rules import HOUSEHOLD

Stored = tuple[bool, dict[str, Any], dict[str, Any]]  # visible, record fields, provenance


class MemoryViews:
    """Rows by view and key, written by whole batches as the worker writes them."""

    def __init__(self) -> None:
        self.views: dict[str, dict[str, StoredRow]] = {}
        self.changes: list[tuple[str, str, Any]] = []

    def rows(self, view: str, keys: Collection[str]) -> dict[str, StoredRow]:
        """Stored rows of ``view`` among ``keys``."""
        held = self.views.get(view, {})
        return {k: held[k] for k in keys if k in held}

    def household_keys(self, community: str) -> list[str]:
        """Households stored for a community."""
        held = self.views.get(HOUSEHOLD.name, {})
        return [k for k, s in held.items() if s.community_code == community]

    def merge(self, updates: Iterable[Update]) -> BatchResult:
        """Merge one batch and keep what it wrote."""
        result = merge_batch(list(updates), self)
        for view, rows in result.rows.items():
            for stored in rows:
                self.views.setdefault(view, {})[stored.row.key] = stored
        self.changes += [(c.view, c.key, c.record) for c in result.changes]
        return result

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


def pure_views(updates: list[Update], batch: int = 500) -> dict[str, dict[str, Stored]]:
    """What the pure merge makes of ``updates`` in every view: the rows each view shows."""
    memory = MemoryViews()
    for start in range(0, len(updates), batch):
        memory.merge(updates[start : start + batch])
    return {view: memory.shown(view) for view in VIEWS}
