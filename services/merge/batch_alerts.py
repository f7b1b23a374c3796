"""The alert rows of a batch: what its changed rows open and clear, and the rows written.

Pure, like ``batch.py``, which calls it. Alerts are gathered by identity, which names their
subject; the rows and changes written carry only the opaque ``alert_id`` made from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.merge import alerts as alert_rules
from services.merge.alerts import Alert
from services.merge.community import Deltas, delta_for
from services.merge.derive import alert_counts
from services.merge.merge import RowState, empty_row
from services.merge.rows import Change, Record, RowReader, Written, stored
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
) -> None:
    """Write alert rows: open ones shown; cleared ones kept hidden, or gone with the person.

    ``alerts`` holds them by identity, which names their subject; rows and changes carry
    only the opaque ``alert_id`` made from it.
    """
    ids = {i: alert_rules.alert_id(key, i) for i in alerts.opened.keys() | alerts.closed.keys()}
    before = reader.rows(ALERT_VIEW, set(ids.values()))
    for identity in sorted(alerts.opened):
        alert, alert_id = alerts.opened[identity], ids[identity]
        shown = _alert_record(alert)
        written.save(
            ALERT_VIEW,
            before.get(alert_id),
            stored(empty_row(alert_id), shown, alert["community_code"]),
        )
    for identity in sorted(alerts.closed):
        if identity in alerts.opened:
            continue  # cleared for one subject, raised for another (a resident moved)
        alert, alert_id = alerts.closed[identity], ids[identity]
        shown = _alert_record(alert)
        subject = alert["subject_key"] if alert["subject_kind"] == "PERSON" else None
        person = residents.get(subject) if subject else None
        erased = person is not None and not person.values.get("registered")
        # A closed alert is kept, hidden, as history; a person who left takes theirs along.
        kept = None if erased else shown
        hidden = stored(empty_row(alert_id), kept, alert["community_code"], visible=False)
        written.keep(ALERT_VIEW, before.get(alert_id), hidden)
        if not erased:
            # Live subscribers see the closure before the tombstone compacts it away.
            written.changes.append(Change(ALERT_VIEW, alert_id, shown, alert["community_code"]))
        written.changes.append(Change(ALERT_VIEW, alert_id, None, alert["community_code"]))


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
