"""The community stage: deltas a batch leaves for each community, folded into its row later.

No merge transaction writes a community row: every worker's batches touch the same few
communities, so those rows would serialize the workers. A batch leaves a delta instead
(its count changes, the freshness of rows now in the community, a flag when a row left
it, and the community's own events); the stage folds the pending deltas of a community
into its row at most once a fold interval, in one transaction with consuming them, so each
delta counts exactly once. Counts are exact because a batch's deltas are differences
between row states it committed; the freshness of a community is the newest event time of
each department over the rows now in it, so it is recounted from the rows when one left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.merge import records
from services.merge.derive import family, freshness
from services.merge.epidemic import EpidemicWindow
from services.merge.merge import Provenance, RowState, Update, apply, empty_row
from services.merge.rows import Projects, StoredRow, Written, stored
from services.merge.rules import COMMUNITY_SITUATION, COUNT, HOUSEHOLD, LATEST


@dataclass
class CommunityDelta:
    """What one batch changes of one community."""

    counts: Counter[str] = field(default_factory=Counter)
    fresh: dict[str, int] = field(default_factory=dict)  # department -> newest event time
    # The freshness rows took with them when they left: where it may have been the newest,
    # the community's is recounted from the rows.
    gone: dict[str, int] = field(default_factory=dict)
    updates: list[Update] = field(default_factory=list)  # the community's own events

    def add_counts(self, counts: Mapping[str, int], sign: int) -> None:
        """Add (sign 1) or take away (sign -1) a row's counts."""
        for figure, n in counts.items():
            self.counts[figure] += sign * n

    def credit(self, fresh: Mapping[str, int]) -> None:
        """Fold in the freshness of a row that is in the community."""
        self.fresh = newest(self.fresh, fresh)

    def leave(self, fresh: Mapping[str, int]) -> None:
        """Note the freshness of a row that left the community."""
        self.gone = newest(self.gone, fresh)

    def absorb(self, other: CommunityDelta) -> None:
        """Combine another delta of the same community into this one."""
        self.counts.update(other.counts)
        self.credit(other.fresh)
        self.leave(other.gone)
        self.updates += other.updates

    def is_empty(self) -> bool:
        """True when folding it would change nothing."""
        return not (any(self.counts.values()) or self.fresh or self.gone or self.updates)

    def to_json(self) -> dict[str, Any]:
        """The delta as stored in the view store until it is folded."""
        found: dict[str, Any] = {}
        if counts := {k: n for k, n in self.counts.items() if n}:
            found["counts"] = counts
        if self.fresh:
            found["fresh"] = self.fresh
        if self.gone:
            found["gone"] = self.gone
        if self.updates:
            found["updates"] = [
                [u.source.department, u.source.event_id, u.source.event_time_ms, dict(u.values)]
                for u in self.updates
            ]
        return found

    @classmethod
    def from_json(cls, community: str, stored: Mapping[str, Any]) -> CommunityDelta:
        """The delta of a stored JSON object (``community`` is the key of its updates)."""
        updates = [
            Update(COMMUNITY_SITUATION.name, community, Provenance(d, e, int(t)), values)
            for d, e, t, values in stored.get("updates", [])
        ]
        return cls(
            Counter(stored.get("counts", {})),
            {d: int(t) for d, t in stored.get("fresh", {}).items()},
            {d: int(t) for d, t in stored.get("gone", {}).items()},
            updates,
        )


Deltas = dict[str, CommunityDelta]


def delta_for(deltas: Deltas, community: str) -> CommunityDelta:
    """The delta of ``community`` in ``deltas``, created empty on first use."""
    found = deltas.get(community)
    if found is None:
        found = deltas[community] = CommunityDelta()
    return found


class FoldReader(Protocol):
    """What folding reads: community and household rows (under lock), freshness recounts."""

    def rows(self, view: str, keys: Collection[str]) -> dict[str, StoredRow]:
        """Stored rows of ``view`` among ``keys``; absent keys are left out."""

    def household_keys(self, community: str) -> list[str]:
        """Keys of every household row stored in a community, shown or not."""

    def freshness(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, int]]:
        """For each community of ``wanted``, per department it names, the newest event time
        over the community's resident and household rows (a resident's row stays in the
        community it was last registered in); a department no row has heard from is left out.
        """


@dataclass
class Folded:
    """What a fold writes: community rows, re-rendered households, and their changes."""

    written: Written = field(default_factory=Written)
    applied: list[Update] = field(default_factory=list)
    unchanged: list[Update] = field(default_factory=list)


def fold(deltas: Deltas, reader: FoldReader, window: EpidemicWindow | None = None) -> Folded:
    """Fold pending deltas into their communities' rows, rendered at ``window``'s time: a
    community whose delta is empty is rendered again, and written only if that changed it."""
    out = Folded()
    before = reader.rows(COMMUNITY_SITUATION.name, deltas.keys())
    rows: dict[str, RowState] = {}
    recount: dict[str, set[str]] = {}
    for community in sorted(deltas):
        delta = deltas[community]
        old = before.get(community)
        row = _merged(old.row if old else empty_row(community), delta.updates, out)
        row = _counted(row, delta.counts)
        row = _latest(row, newest(delta.fresh, freshness(row)))
        latest = family(row, LATEST)
        # Where a row that left held the newest time, only the rows can say what is now.
        stale = {d for d, t in delta.gone.items() if t >= latest.get(d, t)}
        if stale:
            recount[community] = stale
        rows[community] = row
    # The recount reads the rows as they stand after every delta consumed here.
    counted = reader.freshness(recount) if recount else {}
    for community, stale in recount.items():
        row = rows[community]
        found = newest(counted.get(community, {}), freshness(row))
        rows[community] = _latest(row, {d: found[d] for d in stale if d in found}, stale)
    for community, row in sorted(rows.items()):
        old = before.get(community)
        shown = records.community_record(row, window)
        if old is not None and old.row == row and old.shown == shown:
            continue
        out.written.save(COMMUNITY_SITUATION.name, old, stored(row, shown, community))
        old_projects = records.renovation_projects(old.row if old else None)
        new_projects = records.renovation_projects(row)
        if old_projects != new_projects:
            _rerender(community, old_projects, new_projects, reader, out.written)
    return out


def _merged(row: RowState, updates: Iterable[Update], out: Folded) -> RowState:
    for update in sorted(updates, key=lambda u: u.source.version):
        result = apply(row, update, COMMUNITY_SITUATION.ownership)
        if result.changed:
            row = result.row
            out.applied.append(update)
        else:
            out.unchanged.append(update)
    return row


def _counted(row: RowState, counts: Mapping[str, int]) -> RowState:
    values = dict(row.values)
    for figure, delta in counts.items():
        if delta:
            name = f"{COUNT}/{figure}"
            total = values.get(name, 0) + delta
            if total:
                values[name] = total
            else:
                values.pop(name, None)
    return RowState(row.key, values, row.provenance)


def newest(*fresh: Mapping[str, int]) -> dict[str, int]:
    """Per department, the newest event time among several freshness maps."""
    found: dict[str, int] = {}
    for one in fresh:
        for department, millis in one.items():
            if millis > found.get(department, millis - 1):
                found[department] = millis
    return found


def _latest(row: RowState, fresh: Mapping[str, int], replaced: Collection[str] = ()) -> RowState:
    """The department freshness shown for the community: the newest time wins, except for
    ``replaced`` departments, whose recounted time (or none) stands as it is."""
    values = dict(row.values)
    for department in replaced:
        values.pop(f"{LATEST}/{department}", None)
    for department, millis in fresh.items():
        name = f"{LATEST}/{department}"
        values[name] = max(values.get(name, millis), millis)
    return RowState(row.key, values, row.provenance)


def _rerender(
    community: str,
    old_projects: Projects,
    new_projects: Projects,
    reader: FoldReader,
    written: Written,
) -> None:
    """Households a project now covers or no longer covers show their renovation anew."""
    buildings = _buildings(old_projects) | _buildings(new_projects)
    keys = reader.household_keys(community)
    for _, before in sorted(reader.rows(HOUSEHOLD.name, keys).items()):
        if None not in buildings and before.row.values.get("building") not in buildings:
            continue
        shown = records.household_record(before.row, new_projects)
        if shown != before.shown:
            written.save(HOUSEHOLD.name, before, stored(before.row, shown, before.community_code))


def _buildings(projects: Projects) -> set[str | None]:
    """Buildings the projects cover; None stands for every building of the community."""
    found: set[str | None] = set()
    for progress, _ in projects.values():
        found.update(progress["buildings"] or [None])
    return found


def recount_freshness(rows: Iterable[StoredRow]) -> dict[str, int]:
    """The newest event time per department over a community's resident and household rows:
    the obvious form of the store's recount, for memory stores and tests."""
    return newest(*(freshness(s.row) for s in rows))
