"""One batch of updates -> changed resident, household and alert rows, and community deltas.

Pure: rows come from a reader. The order of work follows the direction state flows in:
residents, then the households they live in, then the alerts over both. Each step applies
the difference between a row's derived contributions before and after the batch, so
derived state is exact however events are ordered, repeated or replayed. Communities are
not written here: the batch leaves each community a delta (``community.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from services.merge import alerts as alert_rules
from services.merge import records
from services.merge.batch_alerts import (
    AlertChanges,
    shown_household_alerts,
    shown_welfare_alerts,
    write_alert_rows,
)
from services.merge.community import Deltas, delta_for
from services.merge.derive import (
    Counts,
    freshness,
    household_contributions,
    household_counts,
    resident_counts,
)
from services.merge.merge import Conflict, RowState, Update, apply, empty_row
from services.merge.rows import Applied, Change, Record, RowReader, StoredRow, Written, stored
from services.merge.rules import (
    ALERT_VIEW,
    COMMUNITY_SITUATION,
    FRESH,
    HOUSEHOLD,
    MEMBER,
    RESIDENT_PROFILE,
    WATER,
    ViewSpec,
)


@dataclass
class BatchResult:
    """What a batch does: rows to write, view changes, community deltas, what it applied."""

    written: Written = field(default_factory=Written)
    applied: Applied = field(default_factory=Applied)
    deltas: Deltas = field(default_factory=dict)

    @property
    def changes(self) -> list[Change]:
        """View changes to publish, in order."""
        return self.written.changes

    @property
    def conflicts(self) -> list[Conflict]:
        """Updates refused because their department does not own the field."""
        return self.applied.conflicts


@dataclass
class _Effects:
    """What changed rows mean for other rows, gathered as the batch goes."""

    # Entries residents put into households, and entries they took out, by dwelling.
    entries: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    removed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Newest event time that changed a resident, or a household (or what its residents
    # put into it): when an alert that cleared was closed.
    resident_touched: dict[str, int] = field(default_factory=dict)
    household_touched: dict[str, int] = field(default_factory=dict)
    # Alerts the changed rows open and clear, written once both kinds of rows are merged.
    alerts: AlertChanges = field(default_factory=AlertChanges)


def merge_batch(updates: Iterable[Update], reader: RowReader, alert_key: bytes) -> BatchResult:
    """Merge one batch of updates into the resident, household and alert views.

    ``alert_key`` (the hub's HMAC key) makes the opaque ids alerts are stored under.
    """
    by_view: dict[str, list[Update]] = defaultdict(list)
    for update in updates:
        by_view[update.view].append(update)
    out = BatchResult()
    effects = _Effects()
    residents = _residents(by_view[RESIDENT_PROFILE.name], reader, out, effects)
    _households(by_view[HOUSEHOLD.name], reader, out, effects)
    tasks = by_view[ALERT_VIEW]  # the grid's work on alerts, laid over what the rules raise
    write_alert_rows(
        reader,
        out.written,
        effects.alerts,
        residents,
        alert_key,
        tasks=tasks,
        applied=out.applied,
        deltas=out.deltas,
    )
    for update in by_view[COMMUNITY_SITUATION.name]:
        delta_for(out.deltas, update.key).updates.append(update)
    out.deltas = {c: d for c, d in out.deltas.items() if not d.is_empty()}
    return out


def _merge(
    spec: ViewSpec,
    before: Mapping[str, StoredRow],
    updates: Iterable[Update],
    applied: Applied,
    touched: dict[str, int],
) -> dict[str, RowState]:
    """Apply ``updates`` to the rows of ``spec``; returns the rows' new states by key.

    ``touched`` gets the newest event time that changed each row.
    """
    state = {k: s.row for k, s in before.items()}
    for update in updates:
        result = apply(state.get(update.key) or empty_row(update.key), update, spec.ownership)
        applied.conflicts += result.conflicts
        if result.changed:
            state[update.key] = result.row
            applied.applied.append(update)
            _touch(touched, update.key, update.source.event_time_ms)
        elif not result.conflicts:
            applied.unchanged.append(update)
    return state


def _residents(
    updates: list[Update], reader: RowReader, out: BatchResult, effects: _Effects
) -> dict[str, RowState]:
    """Merge resident events; gather what changed residents mean for households and counts."""
    before = reader.rows(RESIDENT_PROFILE.name, {u.key for u in updates})
    after = _merge(RESIDENT_PROFILE, before, updates, out.applied, effects.resident_touched)
    for key in sorted(after):
        row, old_stored = after[key], before.get(key)
        old = old_stored.row if old_stored else empty_row(key)
        if row == old:
            continue
        # A resident's row sits in the community it was last registered in, shown or not.
        community = row.values.get("last_community")
        new_stored = stored(row, records.resident_record(row), community)
        out.written.save(RESIDENT_PROFILE.name, old_stored, new_stored)
        _community_effects(out.deltas, old_stored, new_stored, _resident_counts)
        old_homes = household_contributions(old)
        new_homes = household_contributions(row)
        for dwelling, contributed in old_homes.items():
            effects.removed[dwelling].update(contributed)
        for dwelling, contributed in new_homes.items():
            effects.entries[dwelling].update(contributed)
        for dwelling in old_homes.keys() | new_homes.keys():
            _touch(effects.household_touched, dwelling, effects.resident_touched.get(key, 0))
        when = effects.resident_touched.get(key) or _newest_time(row)
        effects.alerts.diff(
            out.deltas,
            alert_rules.resident_alerts_without_dwelling(old),
            alert_rules.resident_alerts_without_dwelling(row),
            when,
        )
    return after


def _households(
    updates: list[Update], reader: RowReader, out: BatchResult, effects: _Effects
) -> None:
    """Merge household events, apply what residents put in, render what changed."""
    contributed = effects.entries.keys() | effects.removed.keys()
    before = reader.rows(HOUSEHOLD.name, {u.key for u in updates} | contributed)
    after = _merge(HOUSEHOLD, before, updates, out.applied, effects.household_touched)
    for dwelling in contributed:
        row = after.get(dwelling) or empty_row(dwelling)
        entries = effects.entries.get(dwelling, {})
        gone = effects.removed.get(dwelling, set()) - entries.keys()
        after[dwelling] = _set_entries(row, entries, gone)
    changed = {
        key: row
        for key, row in after.items()
        if key not in before or before[key].row != row  # unchanged state renders the same
    }
    projects = reader.projects({c for c in map(_community_of, changed.values()) if c})
    for key in sorted(changed):
        row, old_stored = changed[key], before.get(key)
        old_row = old_stored.row if old_stored else empty_row(key)
        old_shown = old_stored.shown if old_stored else None
        parts = _changed_parts(old_row, row) if old_stored else None
        if old_stored is not None and parts is not None and parts <= {FRESH}:
            # Only the dwelling's freshness moved: its record and alerts are as they were.
            new_stored = replace(old_stored, row=row)
            out.written.save(HOUSEHOLD.name, old_stored, new_stored)
            _community_effects(out.deltas, old_stored, new_stored, _household_counts)
            continue
        community = _community_of(row)
        alerts_of = shown_household_alerts
        if old_shown is not None and parts is not None and parts <= {FRESH, WATER}:
            shown: Record | None = records.with_water(old_shown, row)
            alerts_of = shown_welfare_alerts
        else:
            shown = records.household_record(row, projects.get(community or "", {}))
        new_stored = stored(row, shown, community)
        out.written.save(HOUSEHOLD.name, old_stored, new_stored)
        _community_effects(out.deltas, old_stored, new_stored, _household_counts)
        when = effects.household_touched.get(key) or _newest_time(row)
        effects.alerts.diff(out.deltas, alerts_of(old_row, old_shown), alerts_of(row, shown), when)


def _changed_parts(old: RowState, new: RowState) -> set[str]:
    """The fields, or families of entries, whose value or provenance differ between states."""
    parts = set()
    old_values, new_values = old.values, new.values
    old_sources, new_sources = old.provenance, new.provenance
    for name in old_values.keys() | new_values.keys():
        if old_values.get(name, _ABSENT) != new_values.get(name, _ABSENT) or old_sources.get(
            name
        ) != new_sources.get(name):
            parts.add(name.split("/", 1)[0])
    return parts


_ABSENT = object()


def _resident_counts(row: StoredRow) -> Counts:
    return resident_counts(row.row)


def _household_counts(row: StoredRow) -> Counts:
    return household_counts(row.record if row.visible else None)


def _community_effects(
    deltas: Deltas,
    before: StoredRow | None,
    after: StoredRow,
    counts_of: Callable[[StoredRow], Counts],
) -> None:
    """The counts a row moves between communities, and the freshness it credits or takes."""
    for sign, side in ((-1, before), (1, after)):
        if side is not None:
            for community, counts in counts_of(side).items():
                delta_for(deltas, community).add_counts(counts, sign)
    now_in = after.community_code
    if before is not None and before.community_code and before.community_code != now_in:
        delta_for(deltas, before.community_code).leave(freshness(before.row))
    if now_in:
        delta_for(deltas, now_in).credit(freshness(after.row))


def _set_entries(row: RowState, entries: Mapping[str, Any], removed: Iterable[str]) -> RowState:
    values = dict(row.values)
    for name in removed:
        values.pop(name, None)
    values.update(entries)
    return RowState(row.key, values, row.provenance)


def _community_of(row: RowState) -> str | None:
    """The community a household's state places it in (before rendering)."""
    if row.values.get("community_code"):
        return str(row.values["community_code"])
    members = sorted(
        v["community_code"]
        for k, v in row.values.items()
        if k.startswith(MEMBER + "/") and v and v.get("community_code")
    )
    return members[0] if members else None


def _touch(times: dict[str, int], key: str, millis: int) -> None:
    times[key] = max(times.get(key, 0), millis)


def _newest_time(row: RowState) -> int:
    return max((p.event_time_ms for p in row.provenance.values()), default=0)
