"""The shapes a merge reads and writes: a stored row, a view change, a batch's outcome.

Plain data shared by the batch merge (``batch.py``), the community stage (``community.py``)
and the adapters that store and publish them; nothing here does I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.merge.merge import Conflict, RowState, Update

Record = tuple[dict[str, Any], dict[str, list[Any]]]  # fields, provenance
# A community's renovation projects: project id -> (latest progress, its provenance).
Projects = dict[str, tuple[dict[str, Any], list[Any] | None]]


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A row as stored: merge state, and the record readers see (None when not shown)."""

    row: RowState
    record: dict[str, Any] | None
    provenance: Mapping[str, list[Any]]
    community_code: str | None
    visible: bool

    @property
    def shown(self) -> Record | None:
        """The record and its provenance while visible."""
        return (self.record, dict(self.provenance)) if self.visible and self.record else None


def stored(
    row: RowState, shown: Record | None, community: str | None, visible: bool | None = None
) -> StoredRow:
    """The stored form of a row with its rendered record (``visible`` defaults to shown)."""
    fields, provenance = shown if shown else (None, {})
    return StoredRow(
        row, fields, provenance, community, shown is not None if visible is None else visible
    )


@dataclass(frozen=True, slots=True)
class Change:
    """A view record changed: the new record, or None when it left the view (a tombstone)."""

    view: str
    key: str
    record: Record | None
    community: str | None = None  # where the row was or is: readers filter tombstones too


@dataclass
class Written:
    """Rows to write and view changes to publish, in the order they were decided."""

    rows: dict[str, list[StoredRow]] = field(default_factory=lambda: defaultdict(list))
    changes: list[Change] = field(default_factory=list)
    created: set[tuple[str, str]] = field(default_factory=set)  # (view, key) of new rows

    @property
    def new_rows(self) -> int:
        """How many rows did not exist before."""
        return len(self.created)

    def keep(self, view: str, before: StoredRow | None, after: StoredRow) -> None:
        """Queue a row to write, without a view change."""
        self.rows[view].append(after)
        if before is None:
            self.created.add((view, after.row.key))

    def save(self, view: str, before: StoredRow | None, after: StoredRow) -> None:
        """Queue a changed row, and its view change when the record readers see changed."""
        self.keep(view, before, after)
        old = before.shown if before else None
        new = after.shown
        if old != new:
            community = after.community_code or (before.community_code if before else None)
            self.changes.append(Change(view, after.row.key, new, community))


@dataclass
class Applied:
    """What the updates of a batch did: applied, left unchanged, or refused as conflicts."""

    applied: list[Update] = field(default_factory=list)
    unchanged: list[Update] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


class RowReader(Protocol):
    """Where a merge reads current rows from (the view store under lock, or memory)."""

    def rows(self, view: str, keys: Collection[str]) -> dict[str, StoredRow]:
        """Stored rows of ``view`` among ``keys``; absent keys are left out."""

    def projects(self, communities: Collection[str]) -> dict[str, Projects]:
        """The renovation projects of each community (absent when it has none)."""
