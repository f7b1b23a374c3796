"""The grid office's work on alerts, read straight from docs/views.md's rules.

| what | rule |
| an assignment (TaskAssigned naming an alert) | the newest by version shows who has the
|   | alert (task_id, assignee_code, assigned_at = its event_time, due_at = its due_at) |
| a visit (TaskCompleted naming an alert with a visit_outcome, or with outcome DONE) | the
|   | newest by version shows visit_outcome, referred_to (REFERRED only), visited_at = its
|   | event_time, note = its notes |
| either | counts only if its time is no earlier than the alert's opened_at |
| DONE | closes the alert (status CLOSED, closed_at = visited_at) unless a newer assignment
|   | than the visit counts |

An alert nobody took shows every task field null.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.support.oracle.facts import Fact, json_value
from tests.support.oracle.residents import Shown

TASK_FIELDS = (
    "task_id", "assignee_code", "assigned_at", "due_at",
    "visit_outcome", "referred_to", "visited_at", "note",
)  # fmt: skip


def _is_alert_id(text: Any) -> bool:
    return isinstance(text, str) and len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def latest_tasks(facts: Iterable[Fact]) -> dict[str, dict[str, Fact]]:
    """For each alert id: its newest assignment and its newest visit, by version."""
    found: dict[str, dict[str, Fact]] = {}
    for fact in facts:
        alert = fact.record.get("alert_id")
        if not isinstance(alert, str) or not _is_alert_id(alert):
            continue
        if fact.name == "gov.grid.TaskAssigned":
            kind = "assigned"
        elif fact.name == "gov.grid.TaskCompleted" and (
            fact.record.get("visit_outcome") or fact.record.get("outcome") == "DONE"
        ):
            kind = "visited"
        else:
            continue
        held = found.setdefault(alert, {}).get(kind)
        if held is None or held.source.version < fact.source.version:
            found[alert][kind] = fact
    return found


def with_tasks(alerts: dict[str, Shown], facts: Iterable[Fact]) -> dict[str, Shown]:
    """``alerts`` (open, as the rules raise them) with the grid's work laid over each."""
    tasks = latest_tasks(facts)
    out: dict[str, Shown] = {}
    for alert_id, (raised, raised_sources) in alerts.items():
        data, provenance = {**raised, **dict.fromkeys(TASK_FIELDS)}, dict(raised_sources)
        work = tasks.get(alert_id, {})
        # Only work no older than this occurrence's opening counts.
        assigned, visited = (
            None if f is None or f.source.time_ms < data["opened_at"] else f
            for f in (work.get("assigned"), work.get("visited"))
        )
        if assigned is not None:
            r = assigned.record
            _show(data, provenance, assigned, {
                "task_id": r["task_id"],
                "assignee_code": r["assignee_code"],
                "assigned_at": assigned.source.time_ms,
                "due_at": json_value(r.get("due_at")),
            })  # fmt: skip
        if visited is not None:
            r = visited.record
            outcome = r.get("visit_outcome") or "DONE"
            _show(data, provenance, visited, {
                "visit_outcome": outcome,
                "referred_to": r.get("referred_to") if outcome == "REFERRED" else None,
                "visited_at": visited.source.time_ms,
                "note": r.get("notes"),
            })  # fmt: skip
            later = assigned is not None and assigned.source.time_ms > visited.source.time_ms
            if outcome == "DONE" and not later:
                data["status"], data["closed_at"] = "CLOSED", visited.source.time_ms
                provenance["closed_at"] = visited.source.stored()
        out[alert_id] = (data, provenance)
    return out


def _show(
    data: dict[str, Any], provenance: dict[str, Any], fact: Fact, shown: dict[str, Any]
) -> None:
    for name, value in shown.items():
        data[name] = value
        if value is not None:
            provenance[name] = fact.source.stored()
