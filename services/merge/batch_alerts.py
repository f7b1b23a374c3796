"""The alert rows of a batch: what its changed rows open and clear, and the rows written.

Pure, like ``batch.py``, which calls it. Alerts are gathered by identity, which names their
subject; the rows and changes written carry only the opaque ``alert_id`` made from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from services.merge import alerts as alert_rules
from services.merge.alert_tasks import base_record, merge_tasks, with_task
from services.merge.alerts import Alert
from services.merge.community import Deltas, delta_for
from services.merge.derive import alert_counts
from services.merge.merge import RowState, Update, empty_row
from services.merge.rows import Applied, Change, Record, RowReader, StoredRow, Written, stored
from services.merge.rules import ALERT_VIEW


@dataclass
class AlertChanges:
    """Alerts a batch's rows opened (or changed) and cleared, by identity."""

    opened: dict[str, Alert] = field(default_factory=dict)
    closed: dict[str, Alert] = field(default_factory=dict)

    def diff(
        self,
        deltas: Deltas,
        old: Mapping[str, Alert],
        new: Mapping[str, Alert],
        closed_at: int,
    ) -> None:
        """One subject's alerts that open or change, that clear, and the open counts' delta."""
        for identity, alert in new.items():
            if old.get(identity) != alert:
                self.opened[identity] = alert
        for identity, alert in old.items():
            if identity not in new:
                self.closed[identity] = {**alert, "status": "CLOSED", "closed_at": closed_at}
        for sign, alerts in ((-1, old), (1, new)):
            for community, counts in alert_counts(alerts).items():
                delta_for(deltas, community).add_counts(counts, sign)


def write_alert_rows(
    reader: RowReader,
    written: Written,
    alerts: AlertChanges,
    residents: Mapping[str, RowState],
    key: bytes,
    *,
    tasks: Sequence[Update] = (),
    applied: Applied | None = None,
    deltas: Deltas | None = None,
) -> None:
    """Write alert rows: open ones shown; cleared ones kept hidden, or gone with the person.

    ``alerts`` holds them by identity, which names their subject; rows and changes carry
    only the opaque ``alert_id`` made from it. ``tasks`` are the grid's updates of alert
    rows (``alert_tasks.py``), laid over what the rules call for.
    """
    ids = {i: alert_rules.alert_id(key, i) for i in alerts.opened.keys() | alerts.closed.keys()}
    before = reader.rows(ALERT_VIEW, set(ids.values()) | {u.key for u in tasks})
    states = {k: s.row for k, s in before.items()}
    states |= merge_tasks(states, tasks, applied if applied is not None else Applied())

    def state(alert_id: str) -> RowState:
        return states.get(alert_id) or empty_row(alert_id)

    for identity in sorted(alerts.opened):
        alert, alert_id = alerts.opened[identity], ids[identity]
        row = state(alert_id)
        shown = with_task(*_alert_record(alert), row)
        written.save(ALERT_VIEW, before.get(alert_id), stored(row, shown, alert["community_code"]))
    for identity in sorted(alerts.closed):
        if identity in alerts.opened:
            continue  # cleared for one subject, raised for another (a resident moved)
        alert, alert_id = alerts.closed[identity], ids[identity]
        shown = with_task(*_alert_record(alert), state(alert_id))
        subject = alert["subject_key"] if alert["subject_kind"] == "PERSON" else None
        person = residents.get(subject) if subject else None
        erased = person is not None and not person.values.get("registered")
        # A closed alert is kept, hidden, as history; a person who left takes theirs along.
        kept = None if erased else shown
        hidden = stored(state(alert_id), kept, alert["community_code"], visible=False)
        written.keep(ALERT_VIEW, before.get(alert_id), hidden)
        if not erased:
            # Live subscribers see the closure before the tombstone compacts it away.
            written.changes.append(Change(ALERT_VIEW, alert_id, shown, alert["community_code"]))
        written.changes.append(Change(ALERT_VIEW, alert_id, None, alert["community_code"]))
    _write_task_only(written, before, states, {u.key for u in tasks} - set(ids.values()))
    if deltas is not None:
        _count_visit_closures(deltas, before, written.rows.get(ALERT_VIEW, []))


def _count_visit_closures(
    deltas: Deltas, before: Mapping[str, StoredRow], after: Sequence[StoredRow]
) -> None:
    """Take alerts a visit closed out of their community's open count.

    The rules' differences (``AlertChanges.diff``) count every alert whose condition holds;
    a shown alert a visit closed is one of those no longer open, so each written row moves
    the count by the difference of that correction before and after it."""
    for row in {r.row.key: r for r in after}.values():  # the last write of each row counts
        old = before.get(row.row.key)
        for sign, side in ((1, old), (-1, row)):
            shown = side.shown if side is not None else None
            if shown is not None and shown[0].get("status") == "CLOSED":
                counts = alert_counts({"_": shown[0]})
                for community, figures in counts.items():
                    delta_for(deltas, community).add_counts(figures, sign)


def _write_task_only(
    written: Written,
    before: Mapping[str, StoredRow],
    states: Mapping[str, RowState],
    alert_ids: set[str],
) -> None:
    """Alert rows whose rule did not move but whose grid work did: a shown alert shows it; a
    hidden one (cleared, or not raised yet) keeps it in its state for when it opens."""
    for alert_id in sorted(alert_ids):
        old, row = before.get(alert_id), states.get(alert_id)
        if row is None or (old is not None and old.row == row):
            continue  # a redelivered or older task event: nothing moved
        if old is not None and old.shown is not None:
            shown = with_task(*base_record(*old.shown), row)
            written.save(ALERT_VIEW, old, stored(row, shown, old.community_code))
        elif old is not None:
            written.keep(ALERT_VIEW, old, replace(old, row=row))
        else:
            written.keep(ALERT_VIEW, None, stored(row, None, None, visible=False))


def shown_household_alerts(row: RowState, shown: Record | None) -> dict[str, Alert]:
    """Every alert the rules call for on a shown household (none while it is not shown)."""
    return _alerts_of(alert_rules.household_alerts, row, shown)


def shown_welfare_alerts(row: RowState, shown: Record | None) -> dict[str, Alert]:
    """The only alerts water readings can change: every other stays as it was."""
    return _alerts_of(alert_rules.welfare_alerts, row, shown)


def _alerts_of(
    rules: Callable[[RowState, Mapping[str, Any]], dict[str, Alert]],
    row: RowState,
    shown: Record | None,
) -> dict[str, Alert]:
    """What ``rules`` make of a shown household (none while it is not shown)."""
    if shown is None:
        return {}
    fields, provenance = shown
    return rules(row, {"dwelling_id": row.key, **fields, "provenance": provenance})


def _alert_record(alert: Alert) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    fields = {k: v for k, v in alert.items() if k not in ("identity", "provenance")}
    return fields, dict(alert["provenance"])
