"""The grid office's work on an alert: who has it, since when, and what the visit found.

Pure. ``TaskAssigned`` and ``TaskCompleted`` events that name an alert write grid-owned
fields into the alert row's merge state (per-field last-writer-wins, like every view field),
and ``with_task`` lays them over the alert the rules call for. The rules decide whether an
alert exists; the grid's events decide only who has it and whether a visit closed it:

- An assignment or a visit counts for the alert's current occurrence only when it is no
  older than the occurrence's ``opened_at``: an alert id is the same every time its rule
  holds for the same subject, and a visit that closed last month's occurrence must not close
  today's.
- A visit that was ``DONE`` (and not followed by a newer assignment) closes the alert:
  ``status`` CLOSED, ``closed_at`` the visit's time. It stays shown, closed, until its
  condition clears, when it leaves the view as every cleared alert does.
- ``NOBODY_HOME`` keeps the alert open with its assignee, who calls again; ``REFERRED`` keeps
  it open too, with the department it was handed to, until its condition clears.

An alert nobody took shows every task field null.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from services.merge.merge import Ownership, RowState, Update, apply, empty_row
from services.merge.rows import Applied
from services.merge.rules import ALERT_VIEW, GRID, ViewSpec

ASSIGNMENT_FIELDS = ("task_id", "assignee_code", "assigned_at", "due_at")
VISIT_FIELDS = ("visit_outcome", "referred_to", "visited_at", "note")
TASK_FIELDS = ASSIGNMENT_FIELDS + VISIT_FIELDS

ALERT_TASKS = ViewSpec(name=ALERT_VIEW, ownership=Ownership(dict.fromkeys(TASK_FIELDS, GRID)))

# What an alert id looks like (``alerts.alert_id``); a task naming anything else answers no
# alert the hub raised, and writes nothing.
_ALERT_ID = re.compile(r"[0-9a-f]{32}")

Write = tuple[str, str, Mapping[str, Any] | None]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _millis(value: datetime | None) -> int | None:
    """Epoch milliseconds of a decoded timestamp-millis, exactly (no float rounding)."""
    return None if value is None else (value - _EPOCH) // timedelta(milliseconds=1)


def task_assigned(record: Mapping[str, Any]) -> list[Write]:
    """A TaskAssigned naming an alert: the alert's assignee, since when, and its due time."""
    alert_id = record.get("alert_id")
    if not alert_id or not _ALERT_ID.fullmatch(alert_id):
        return []
    values = {
        "task_id": record["task_id"],
        "assignee_code": record["assignee_code"],
        "assigned_at": _millis(record["event_time"]),
        "due_at": _millis(record.get("due_at")),
    }
    return [(ALERT_VIEW, alert_id, values)]


def task_completed(record: Mapping[str, Any]) -> list[Write]:
    """A TaskCompleted naming an alert: what the visit found, when, and the worker's note.

    A task closed before visits were recorded says only DONE or not: DONE counts as a visit
    that was DONE; any other outcome records no visit.
    """
    alert_id = record.get("alert_id")
    if not alert_id or not _ALERT_ID.fullmatch(alert_id):
        return []
    outcome = record.get("visit_outcome")
    if outcome is None and record.get("outcome") == "DONE":
        outcome = "DONE"
    if outcome is None:
        return []
    values = {
        "visit_outcome": outcome,
        "referred_to": record.get("referred_to") if outcome == "REFERRED" else None,
        "visited_at": _millis(record["event_time"]),
        "note": record.get("notes"),
    }
    return [(ALERT_VIEW, alert_id, values)]


def with_task(
    fields: Mapping[str, Any], provenance: Mapping[str, list[Any]], task: RowState
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """An alert's record (as the rules make it, open) with the grid's work on it laid over."""
    out, sources = dict(fields), dict(provenance)
    opened = int(fields["opened_at"])
    values = task.values
    assigned_at, visited_at = values.get("assigned_at"), values.get("visited_at")
    taken = assigned_at is not None and assigned_at >= opened
    visited = visited_at is not None and visited_at >= opened
    for names, counts in ((ASSIGNMENT_FIELDS, taken), (VISIT_FIELDS, visited)):
        for name in names:
            out[name] = values.get(name) if counts else None
            if out[name] is not None:
                p = task.provenance[name]
                sources[name] = [p.department, p.event_id, p.event_time_ms]
    # A newer assignment than the visit hands the alert out again: it is not closed.
    reassigned = taken and visited and (assigned_at or 0) > (visited_at or 0)
    if visited and values.get("visit_outcome") == "DONE" and not reassigned:
        out["status"], out["closed_at"] = "CLOSED", visited_at
        sources["closed_at"] = sources["visited_at"]
    return out, sources


def base_record(
    fields: Mapping[str, Any], provenance: Mapping[str, list[Any]]
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """A shown alert's record as the rules made it, the grid's work taken off."""
    out = {k: v for k, v in fields.items() if k not in TASK_FIELDS}
    sources = {k: v for k, v in provenance.items() if k not in TASK_FIELDS and k != "closed_at"}
    out["status"], out["closed_at"] = "OPEN", None
    return out, sources


def merge_tasks(
    before: Mapping[str, RowState], updates: Iterable[Update], applied: Applied
) -> dict[str, RowState]:
    """The alert rows' merge state after the grid's task updates, by alert id (changed only)."""
    state = dict(before)
    changed: dict[str, RowState] = {}
    for update in updates:
        row = state.get(update.key) or empty_row(update.key)
        result = apply(row, update, ALERT_TASKS.ownership)
        applied.conflicts += result.conflicts
        if result.changed:
            state[update.key] = changed[update.key] = result.row
            applied.applied.append(update)
        elif not result.conflicts:
            applied.unchanged.append(update)
    return changed
