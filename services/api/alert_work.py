"""A grid office's work on an alert, as the grid department's own events. Pure.

``POST /alerts/{alert_id}/work`` takes ``{"action": "take", "assignee_code": "W-007"}`` or
``{"action": "visit", "outcome": "DONE" | "NOBODY_HOME" | "REFERRED", "referred_to":
"<department>", "note": "..."}``. This module parses that body strictly (every refusal names
its field), decides whether the reader may act on the alert at all, and writes the
``TaskAssigned`` or ``TaskCompleted`` record the intake publishes for the grid department.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.access.policy import Grant, allows_community

GRID = "grid"
ACTIONS = ("take", "visit")
OUTCOMES = ("DONE", "NOBODY_HOME", "REFERRED")
MAX_NOTE_CHARS = 500
HOUR_MS = 3_600_000
# A staff code, never a name: letters, digits, - and _, as the grid office numbers its staff.
_STAFF_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
# Seven digits or more in a row (spaces and dashes between them too) look like a phone or an
# ID number: a note is free text without personal data, so it is refused, not stored.
_DIGIT_RUN = re.compile(r"(?:[0-9０-９][ \-]?){7,}")


class WorkRefused(Exception):  # noqa: N818 - an answer the route gives (4xx), not a failure
    """The request cannot be done: ``status``, and the field it names (if any)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field


@dataclass(frozen=True)
class Work:
    """What the request asks: take the alert for a worker, or record a visit."""

    action: str
    assignee_code: str | None = None
    outcome: str | None = None
    referred_to: str | None = None
    note: str | None = None


def parse_work(body: Any, departments: Collection[str]) -> Work:
    """The request's body as a ``Work``; WorkRefused (422) names the first bad field."""
    if not isinstance(body, Mapping):
        raise WorkRefused(422, "the body must be a JSON object", "body")
    action = body.get("action")
    if action not in ACTIONS:
        raise WorkRefused(422, f"action must be one of {', '.join(ACTIONS)}", "action")
    allowed = {"action", "assignee_code"} if action == "take" else {
        "action", "outcome", "referred_to", "note",
    }  # fmt: skip
    for name in body:
        if name not in allowed:
            raise WorkRefused(422, f"unknown field for action {action}", str(name)[:64])
    if action == "take":
        code = body.get("assignee_code")
        if not isinstance(code, str) or not _STAFF_CODE.fullmatch(code):
            raise WorkRefused(
                422, "must be a staff code: 1 to 32 letters, digits, - or _", "assignee_code"
            )
        return Work("take", assignee_code=code)
    outcome = body.get("outcome")
    if outcome not in OUTCOMES:
        raise WorkRefused(422, f"must be one of {', '.join(OUTCOMES)}", "outcome")
    referred = body.get("referred_to")
    if outcome == "REFERRED" and referred not in departments:
        raise WorkRefused(422, f"must name a department: {', '.join(departments)}", "referred_to")
    if outcome != "REFERRED" and referred is not None:
        raise WorkRefused(422, "only a REFERRED visit names a department", "referred_to")
    return Work("visit", outcome=outcome, referred_to=referred, note=_note(body.get("note")))


def _note(note: Any) -> str | None:
    if note is None or note == "":
        return None
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise WorkRefused(422, f"must be text of at most {MAX_NOTE_CHARS} characters", "note")
    if _DIGIT_RUN.search(note):
        raise WorkRefused(
            422, "must hold no personal data: a run of 7 or more digits looks like a phone "
            "or ID number", "note",
        )  # fmt: skip
    return note.strip() or None


def may_know(grant: Grant, alert: Mapping[str, Any]) -> bool:
    """Whether the reader may know ``alert`` exists: its type and community are granted."""
    types = grant.derived.alert_types
    if types is not None and alert.get("alert_type") not in types:
        return False
    return allows_community(grant, alert.get("community_code"))


def refusal(grant: Grant | None, audience: str, alert: Mapping[str, Any]) -> str | None:
    """Why ``audience`` may not act on ``alert`` (None when it may): acting on an alert
    needs its type, its community and its subject granted, as reading its subject does."""
    if grant is None:
        return f"audience {audience} is granted no alerts"
    if not may_know(grant, alert):
        return f"audience {audience} is not granted this alert's type or community"
    if "subject_key" not in grant.fields:
        return (
            f"audience {audience} is not granted the alert's subject (alert.subject_key): "
            "only a grid office that may know whom an alert is about can take it"
        )
    return None


def task_assigned(  # noqa: PLR0917 - the alert, the work and the three values the route makes
    alert: Mapping[str, Any], work: Work, now_ms: int, task_id: str, event_id: str,
    response_hours: Mapping[str, int],
) -> dict[str, Any]:  # fmt: skip
    """The TaskAssigned record (the intake's JSON form) that gives the alert to a worker;
    due when the alert's type's response limit after its opening runs out."""
    hours = response_hours.get(str(alert["alert_type"]))
    return {
        "event_id": event_id,
        "event_time": now_ms,
        "community_code": alert["community_code"],
        "task_id": task_id,
        "grid_id": alert.get("grid_id") or "",
        "kind": "ALERT_RESPONSE",
        "alert_id": alert["alert_id"],
        "alert_type": alert["alert_type"],
        "assignee_code": work.assignee_code,
        "due_at": None if hours is None else int(alert["opened_at"]) + hours * HOUR_MS,
    }


def task_completed(
    alert: Mapping[str, Any], work: Work, now_ms: int, event_id: str
) -> dict[str, Any]:
    """The TaskCompleted record that records the visit on the alert's current task."""
    if not alert.get("task_id"):
        raise WorkRefused(409, "nobody has taken this alert: take it before recording a visit")
    return {
        "event_id": event_id,
        "event_time": now_ms,
        "community_code": alert["community_code"],
        "task_id": alert["task_id"],
        "grid_id": alert.get("grid_id") or "",
        # For readers of the task alone: DONE, or the grid could not finish it itself.
        "outcome": "DONE" if work.outcome == "DONE" else "UNABLE_TO_COMPLETE",
        "alert_id": alert["alert_id"],
        "notes": work.note,
        "visit_outcome": work.outcome,
        "referred_to": work.referred_to,
    }


def due_at(alert: Mapping[str, Any], response_hours: Mapping[str, int]) -> int | None:
    """When a visit is due: the task's due time, or the alert's opening plus its type's
    response limit while nobody has taken it (None for a type without a limit)."""
    if alert.get("due_at") is not None:
        return int(alert["due_at"])
    hours = response_hours.get(str(alert.get("alert_type")))
    return None if hours is None else int(alert["opened_at"]) + hours * HOUR_MS


def overdue(alert: Mapping[str, Any], response_hours: Mapping[str, int], now_ms: int) -> bool:
    """An open alert past its due time, unless referred to another department (then theirs)."""
    if alert.get("status") != "OPEN" or alert.get("visit_outcome") == "REFERRED":
        return False
    due = due_at(alert, response_hours)
    return due is not None and now_ms > due


def overdue_counts(
    alerts: Iterable[Mapping[str, Any]], response_hours: Mapping[str, int], now_ms: int
) -> dict[str, int]:
    """Overdue alerts by type, every type with a limit counted (0 included)."""
    counts = dict.fromkeys(response_hours, 0)
    for alert in alerts:
        if overdue(alert, response_hours, now_ms):
            kind = str(alert["alert_type"])
            counts[kind] = counts.get(kind, 0) + 1
    return counts
