"""One batch of updates -> every view's new rows and changes. Pure: rows come from a reader.

The order of work follows the direction state flows in: residents, then the households
they live in, then the alerts over households, then the communities that count all three.
Each step applies the difference between a row's derived contributions before and after
the batch, so derived state is exact however events are ordered, repeated or replayed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.merge import alerts as alert_rules
from services.merge import records
from services.merge.alerts import Alert
from services.merge.derive import (
    Counts,
    add_counts,
    alert_counts,
    freshness,
    household_contributions,
    household_counts,
    resident_counts,
)
from services.merge.merge import Conflict, Row, Update, apply, empty_row
from services.merge.rules import (
    ALERT_VIEW,
    COMMUNITY_SITUATION,
    COUNT,
    FRESH,
    HOUSEHOLD,
    MEMBER,
    RESIDENT_PROFILE,
    ViewSpec,
)

Record = tuple[dict[str, Any], dict[str, list[Any]]]  # fields, provenance


@dataclass(frozen=True)
class StoredRow:
    """A row as stored: merge state, and the record readers see (None when not shown)."""

    row: Row
    record: dict[str, Any] | None
    provenance: Mapping[str, list[Any]]
    community_code: str | None
    visible: bool

    @property
    def shown(self) -> Record | None:
        """The record and its provenance while visible."""
        return (self.record, dict(self.provenance)) if self.visible and self.record else None


class RowReader(Protocol):
    """Where a batch reads current rows from (the view store, or memory in tests)."""

    def rows(self, view: str, keys: Collection[str]) -> dict[str, StoredRow]:
        """Stored rows of ``view`` among ``keys``; absent keys are left out."""

    def household_keys(self, community: str) -> list[str]:
        """Keys of the household rows stored for a community."""


@dataclass(frozen=True)
class Change:
    """A view record changed: the new record, or None when it left the view (a tombstone)."""

    view: str
    key: str
    record: Record | None
    community: str | None = None  # where the row was or is: readers filter tombstones too


@dataclass
class BatchResult:
    """What a batch does: rows to write, view changes to publish, and what it applied."""

    rows: dict[str, list[StoredRow]] = field(default_factory=lambda: defaultdict(list))
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    applied: list[Update] = field(default_factory=list)
    unchanged: list[Update] = field(default_factory=list)
    new_rows: int = 0


def _merge(
    spec: ViewSpec,
    before: Mapping[str, StoredRow],
    updates: Iterable[Update],
    out: BatchResult,
    *,
    touched: dict[str, int] | None = None,
    on_change: Callable[[Row], None] | None = None,
) -> dict[str, Row]:
    """Apply ``updates`` to the rows of ``spec``; returns the rows' new states by key.

    ``touched`` gets the newest event time that changed each row; ``on_change`` sees the
    row after every change, as if the batch were merged one event at a time.
    """
    state = {k: s.row for k, s in before.items()}
    for update in updates:
        result = apply(state.get(update.key) or empty_row(update.key), update, spec.ownership)
        out.conflicts += result.conflicts
        if result.changed:
            state[update.key] = result.row
            out.applied.append(update)
            if touched is not None:
                _touch(touched, update.key, update.source.event_time_ms)
            if on_change is not None:
                on_change(result.row)
        elif not result.conflicts:
            out.unchanged.append(update)
    return state


def _set_entries(row: Row, entries: Mapping[str, Any], removed: Iterable[str]) -> Row:
    values = dict(row.values)
    for name in removed:
        values.pop(name, None)
    values.update(entries)
    return Row(row.key, values, row.provenance)


def _community_of(row: Row) -> str | None:
    """The community a household's state places it in (before rendering)."""
    if row.values.get("community_code"):
        return str(row.values["community_code"])
    members = sorted(
        v["community_code"]
        for k, v in row.values.items()
        if k.startswith(MEMBER + "/") and v and v.get("community_code")
    )
    return members[0] if members else None


def _fold(row: Row, fresh: Mapping[str, int], counts: Counter[str]) -> Row:
    """A community row with freshness folded in (newest wins) and count deltas added."""
    values = dict(row.values)
    for department, millis in fresh.items():
        name = f"{FRESH}/{department}"
        values[name] = max(values.get(name, millis), millis)
    for figure, delta in counts.items():
        if delta:
            name = f"{COUNT}/{figure}"
            total = values.get(name, 0) + delta
            if total:
                values[name] = total
            else:
                values.pop(name, None)
    return Row(row.key, values, row.provenance)


def _stored(
    row: Row, shown: Record | None, community: str | None, visible: bool | None = None
) -> StoredRow:
    fields, provenance = shown if shown else (None, {})
    return StoredRow(
        row, fields, provenance, community, shown is not None if visible is None else visible
    )


def merge_batch(updates: Iterable[Update], reader: RowReader) -> BatchResult:
    """Merge one batch of updates into every view."""
    batch = _Batch(reader)
    by_view: dict[str, list[Update]] = defaultdict(list)
    for update in updates:
        by_view[update.view].append(update)
    batch.residents(by_view[RESIDENT_PROFILE.name])
    batch.households(by_view[HOUSEHOLD.name])
    batch.communities(by_view[COMMUNITY_SITUATION.name])
    batch.renovated_households()
    batch.render_households()
    batch.alerts()
    batch.community_rows()
    return batch.out


class _Batch:
    """The working state of one batch, step by step."""

    def __init__(self, reader: RowReader) -> None:
        self.reader = reader
        self.out = BatchResult()
        self.counts: Counts = {}
        self.fresh: dict[str, dict[str, int]] = defaultdict(dict)
        self.entries: dict[str, dict[str, Any]] = defaultdict(dict)
        self.removed: dict[str, set[str]] = defaultdict(set)
        self.homeless: dict[str, tuple[dict[str, Alert], dict[str, Alert]]] = {}
        self.r_after: dict[str, Row] = {}
        self.h_before: dict[str, StoredRow] = {}
        self.h_after: dict[str, Row] = {}
        self.c_before: dict[str, StoredRow] = {}
        self.c_after: dict[str, Row] = {}
        self.opened: dict[str, Alert] = {}
        self.closed: dict[str, Alert] = {}
        # Newest event time that changed a resident, or a household (or what its residents
        # contribute to it): when a cleared alert was closed.
        self.r_touched: dict[str, int] = {}
        self.h_touched: dict[str, int] = {}

    def residents(self, updates: list[Update]) -> None:
        """Merge resident events; collect what changed residents contribute elsewhere."""
        before = self.reader.rows(RESIDENT_PROFILE.name, {u.key for u in updates})
        self.r_after = _merge(
            RESIDENT_PROFILE,
            before,
            updates,
            self.out,
            touched=self.r_touched,
            on_change=self._resident_fresh,
        )
        for key, row in self.r_after.items():
            old = before[key].row if key in before else empty_row(key)
            if row == old:
                continue
            shown = records.resident_record(row)
            community = row.values.get("community_code")
            _save(self.out, RESIDENT_PROFILE.name, before.get(key), _stored(row, shown, community))
            old_homes = household_contributions(old)
            new_homes = household_contributions(row)
            for dwelling, contributed in old_homes.items():
                self.removed[dwelling].update(contributed)
            for dwelling, contributed in new_homes.items():
                self.entries[dwelling].update(contributed)
            for dwelling in old_homes.keys() | new_homes.keys():
                _touch(self.h_touched, dwelling, self.r_touched.get(key, 0))
            add_counts(self.counts, resident_counts(old), -1)
            add_counts(self.counts, resident_counts(row), 1)
            self.homeless[key] = (
                alert_rules.homeless_alerts(old),
                alert_rules.homeless_alerts(row),
            )

    def _resident_fresh(self, row: Row) -> None:
        """Credit a resident's freshness to the community it is in after each change."""
        community = row.values.get("community_code")
        if community:
            _merge_fresh(self.fresh[str(community)], freshness(row))

    def households(self, updates: list[Update]) -> None:
        """Merge household events, then apply what residents contribute."""
        contributed = set(self.entries) | set(self.removed)
        self.h_before = self.reader.rows(HOUSEHOLD.name, {u.key for u in updates} | contributed)
        self.h_after = _merge(HOUSEHOLD, self.h_before, updates, self.out, touched=self.h_touched)
        for dwelling in contributed:
            row = self.h_after.get(dwelling) or empty_row(dwelling)
            gone = self.removed[dwelling] - set(self.entries[dwelling])
            self.h_after[dwelling] = _set_entries(row, self.entries[dwelling], gone)

    def communities(self, updates: list[Update]) -> None:
        """Merge community events into the communities this batch touches."""
        keys = {u.key for u in updates} | set(self.counts) | set(self.fresh)
        for dwelling, row in self.h_after.items():
            old = self.h_before.get(dwelling)
            for state in (old.row if old else None, row):
                community = _community_of(state) if state is not None else None
                if community:
                    keys.add(community)
        self.c_before = self.reader.rows(COMMUNITY_SITUATION.name, keys)
        self.c_after = _merge(COMMUNITY_SITUATION, self.c_before, updates, self.out)
        for key in keys - self.c_after.keys():
            self.c_after[key] = empty_row(key)

    def renovated_households(self) -> None:
        """Bring in households whose renovation project changed though nothing else did."""
        for community, row in self.c_after.items():
            old = self.c_before.get(community)
            old_projects = records.renovation_projects(old.row if old else None)
            new_projects = records.renovation_projects(row)
            if old_projects == new_projects:
                continue
            buildings = _buildings(old_projects) | _buildings(new_projects)
            extra = [k for k in self.reader.household_keys(community) if k not in self.h_after]
            for key, stored in self.reader.rows(HOUSEHOLD.name, extra).items():
                if None in buildings or stored.row.values.get("building") in buildings:
                    self.h_before[key] = stored
                    self.h_after[key] = stored.row

    def render_households(self) -> None:
        """Render changed households; count them and evaluate their alerts."""
        for key, row in self.h_after.items():
            before = self.h_before.get(key)
            community = _community_of(row)
            projects = records.renovation_projects(self.c_after.get(community or ""))
            shown = records.household_record(row, projects)
            old_shown = before.shown if before else None
            if before is not None and before.row == row and old_shown == shown:
                continue
            _save(self.out, HOUSEHOLD.name, before, _stored(row, shown, community))
            add_counts(self.counts, household_counts(old_shown[0] if old_shown else None), -1)
            add_counts(self.counts, household_counts(shown[0] if shown else None), 1)
            if community:
                _merge_fresh(self.fresh[community], freshness(row))
            old_alerts = _household_alerts(before.row if before else empty_row(key), old_shown)
            when = self.h_touched.get(key) or _newest_time(row)
            self._alert_diff(old_alerts, _household_alerts(row, shown), when)
        for key, (old_alerts, new_alerts) in self.homeless.items():
            when = self.r_touched.get(key) or _newest_time(self.r_after[key])
            self._alert_diff(old_alerts, new_alerts, when)

    def _alert_diff(
        self, old: Mapping[str, Alert], new: Mapping[str, Alert], closed_at: int
    ) -> None:
        """One subject's alerts that open or change, that clear, and the open counts' delta."""
        for alert_id, alert in new.items():
            if old.get(alert_id) != alert:
                self.opened[alert_id] = alert
        for alert_id, alert in old.items():
            if alert_id not in new:
                self.closed[alert_id] = {**alert, "status": "CLOSED", "closed_at": closed_at}
        add_counts(self.counts, alert_counts(old), -1)
        add_counts(self.counts, alert_counts(new), 1)

    def alerts(self) -> None:
        """Write alert rows: open ones shown; cleared ones kept hidden, or gone with the person."""
        before = self.reader.rows(ALERT_VIEW, self.opened.keys() | self.closed.keys())
        for alert_id, alert in self.opened.items():
            shown = _alert_record(alert)
            community = alert["community_code"]
            _save(
                self.out,
                ALERT_VIEW,
                before.get(alert_id),
                _stored(empty_row(alert_id), shown, community),
            )
        for alert_id, alert in self.closed.items():
            if alert_id in self.opened:
                continue  # cleared for one subject, raised for another (a resident moved)
            shown = _alert_record(alert)
            subject = alert["subject_key"] if alert["subject_kind"] == "PERSON" else None
            person = self.r_after.get(subject) if subject else None
            erased = person is not None and not person.values.get("registered")
            # A closed alert is kept, hidden, as history; a person who left takes theirs along.
            kept = None if erased else shown
            self.out.rows[ALERT_VIEW].append(
                _stored(empty_row(alert_id), kept, alert["community_code"], visible=False)
            )
            if alert_id not in before:
                self.out.new_rows += 1
            if not erased:
                # Live subscribers see the closure before the tombstone compacts it away.
                self.out.changes.append(
                    Change(ALERT_VIEW, alert_id, shown, alert["community_code"])
                )
            self.out.changes.append(Change(ALERT_VIEW, alert_id, None, alert["community_code"]))

    def community_rows(self) -> None:
        """Fold counts and freshness into every community touched, and render them."""
        missing = (self.counts.keys() | self.fresh.keys()) - self.c_after.keys()
        self.c_before.update(self.reader.rows(COMMUNITY_SITUATION.name, missing))
        for key in missing:
            self.c_after[key] = self.c_before[key].row if key in self.c_before else empty_row(key)
        for community, merged in self.c_after.items():
            before = self.c_before.get(community)
            counts = self.counts.get(community, Counter())
            row = _fold(merged, self.fresh.get(community, {}), counts)
            if before is not None and before.row == row:
                continue
            shown = records.community_record(row)
            _save(self.out, COMMUNITY_SITUATION.name, before, _stored(row, shown, community))


def _touch(times: dict[str, int], key: str, millis: int) -> None:
    times[key] = max(times.get(key, 0), millis)


def _merge_fresh(into: dict[str, int], fresh: Mapping[str, int]) -> None:
    for department, millis in fresh.items():
        into[department] = max(into.get(department, millis), millis)


def _buildings(projects: Mapping[str, tuple[dict[str, Any], Any]]) -> set[str | None]:
    """Buildings the projects cover; None stands for every building of the community."""
    found: set[str | None] = set()
    for progress, _ in projects.values():
        found.update(progress["buildings"] or [None])
    return found


def _newest_time(row: Row) -> int:
    return max((p.event_time_ms for p in row.provenance.values()), default=0)


def _household_alerts(row: Row, shown: Record | None) -> dict[str, Alert]:
    if shown is None:
        return {}
    fields, provenance = shown
    return alert_rules.household_alerts(
        row, {"dwelling_id": row.key, **fields, "provenance": provenance}
    )


def _alert_record(alert: Alert) -> Record:
    fields = {k: v for k, v in alert.items() if k not in ("alert_id", "provenance")}
    return fields, dict(alert["provenance"])


def _save(out: BatchResult, view: str, before: StoredRow | None, after: StoredRow) -> None:
    """Queue a changed row, and its view change when the record readers see changed."""
    out.rows[view].append(after)
    if before is None:
        out.new_rows += 1
    old = before.shown if before else None
    new = after.shown
    if old != new:
        community = after.community_code or (before.community_code if before else None)
        out.changes.append(Change(view, after.row.key, new, community))
