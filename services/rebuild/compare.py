"""Row by row, field by field: how a rebuilt view row differs from the live one. Pure.

A row is compared as everything the store keeps of it: whether it is shown, its community,
its record's fields, each field's provenance and the merge state behind it (field versions,
counts, an erased person's barrier). A row one side lacks compares as an empty hidden row,
which is what a switch leaves where the rebuilt store has no row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.store.merge_store import ConflictWrite as Conflict

Json = Mapping[str, Any]
__all__ = ["EMPTY", "ComparedRow", "Comparison", "Conflict", "Difference", "summary"]

SHOWN_WIDTH = 60  # a value longer than this is cut in the summary (a state's whole list)


@dataclass(frozen=True, slots=True)
class ComparedRow:
    """One view row as both stores keep it."""

    community_code: str | None
    visible: bool
    data: Json
    provenance: Json
    state: Json

    def shown(self) -> bool:
        """Whether readers and subscribers see this row (a record, not a tombstone)."""
        return self.visible and bool(self.data)


EMPTY = ComparedRow(None, False, {}, {}, {})


@dataclass(frozen=True, slots=True)
class Difference:
    """One field of one row that the rebuilt store has otherwise than the live one."""

    view: str
    key: str
    field: str
    live: Any
    rebuilt: Any


@dataclass
class Comparison:
    """Every difference found, and which rows a switch must write."""

    differences: list[Difference] = field(default_factory=list)
    # The rebuilt rows to write.
    rows: dict[tuple[str, str], ComparedRow] = field(default_factory=dict)
    new: set[tuple[str, str]] = field(default_factory=set)  # rows the live store lacks
    gone: set[tuple[str, str]] = field(default_factory=set)  # rows the rebuilt store lacks
    republish: list[tuple[str, str]] = field(default_factory=list)  # whose record changes
    conflicts_missing: list[Conflict] = field(default_factory=list)
    conflicts_extra: list[Conflict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.differences)

    def add_row(
        self, view: str, key: str, live: ComparedRow | None, rebuilt: ComparedRow | None
    ) -> None:
        """Compare one row; remember what a switch writes if it differs."""
        found = row_differences(view, key, live or EMPTY, rebuilt or EMPTY)
        if not found:
            return
        self.differences += found
        target = rebuilt or EMPTY
        self.rows[(view, key)] = target
        if live is None:
            self.new.add((view, key))
        if rebuilt is None:
            self.gone.add((view, key))
        if _published(live or EMPTY) != _published(target):
            self.republish.append((view, key))

    def add_conflicts(self, live: Iterable[Conflict], rebuilt: Iterable[Conflict]) -> None:
        """Compare the conflicts both stores recorded."""
        ours, theirs = set(live), set(rebuilt)
        self.conflicts_missing = sorted(theirs - ours, key=_conflict_order)
        self.conflicts_extra = sorted(ours - theirs, key=_conflict_order)
        for c in self.conflicts_missing:
            self.differences.append(
                Difference(c.view, c.key, f"conflict {c.field} {c.event_id}", None, c.department)
            )
        for c in self.conflicts_extra:
            self.differences.append(
                Difference(c.view, c.key, f"conflict {c.field} {c.event_id}", c.department, None)
            )

    def per_view(self) -> dict[str, int]:
        """How many rows differ, per view."""
        return dict(sorted(Counter(view for view, _ in self.rows).items()))


def row_differences(
    view: str, key: str, live: ComparedRow, rebuilt: ComparedRow
) -> list[Difference]:
    """Every field of one row that differs: ``row.visible`` and ``row.community_code`` (the
    row's own columns), the record's fields by name, ``provenance.<field>``, ``state.<entry>``."""
    found = []
    if live.visible != rebuilt.visible:
        found.append(Difference(view, key, "row.visible", live.visible, rebuilt.visible))
    if live.community_code != rebuilt.community_code:
        found.append(
            Difference(view, key, "row.community_code", live.community_code, rebuilt.community_code)
        )
    for prefix, ours, theirs in (
        ("", live.data, rebuilt.data),
        ("provenance.", live.provenance, rebuilt.provenance),
        ("state.", live.state, rebuilt.state),
    ):
        if ours == theirs:
            continue
        for name in sorted(set(ours) | set(theirs)):
            if ours.get(name) != theirs.get(name):
                found.append(Difference(view, key, prefix + name, ours.get(name), theirs.get(name)))
    return found


def summary(comparison: Comparison, limit: int) -> list[str]:
    """The comparison as lines for an operator: up to ``limit`` differences, then counts."""
    lines = [
        f"{d.view}  {d.key}  {d.field}  live={_shown(d.live)}  rebuilt={_shown(d.rebuilt)}"
        for d in comparison.differences[:limit]
    ]
    hidden = len(comparison.differences) - limit
    if hidden > 0:
        lines.append(f"... and {hidden} more differences")
    if comparison:
        rows = ", ".join(f"{view} {count}" for view, count in comparison.per_view().items())
        conflicts = len(comparison.conflicts_missing) + len(comparison.conflicts_extra)
        count, rows_count = len(comparison.differences), len(comparison.rows)
        lines.append(
            f"{count} difference{'s' * (count != 1)} in {rows_count} row{'s' * (rows_count != 1)}"
            + (f" ({rows})" if rows else "")
            + (f" and {conflicts} conflicts" if conflicts else "")
        )
    else:
        lines.append("no difference: the rebuilt views equal the live ones")
    return lines


def _published(row: ComparedRow) -> tuple[Any, ...]:
    """What subscribers receive of a row: its record, provenance and community, or nothing."""
    if not row.shown():
        return (None,)
    return (row.community_code, dict(row.data), dict(row.provenance))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_WIDTH else text[: SHOWN_WIDTH - 3] + "..."


def _conflict_order(c: Conflict) -> tuple[str, str, str, str]:
    return (c.view, c.key, c.field, c.event_id)
