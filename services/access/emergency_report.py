"""The after-action report of an emergency: who read what under it, from the read audit.

Every read that took something only the emergency gave is flagged with its id, with the
fields and communities it took (``emergency_scope``); so are the emergency's declaration,
renewals and end. The report counts the reads and the rows they returned by audience and
token, by audience, view and field, and by audience, view and community taken. The counts
are of the audit's records, not of values: a row that came back twice is counted twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.access.audit import ReadEntry, find_reads
from services.access.emergencies import AUDIT_VIEW
from services.access.emergency import Emergency

# An emergency lasts at most 72 hours: the records under one are few enough to read whole.
MAX_RECORDS = 1_000_000


def records_under(engine: sa.Engine, emergency_id: str) -> list[ReadEntry]:
    """Every audit record flagged with ``emergency_id``, oldest first."""
    return find_reads(engine, emergency_id=emergency_id, limit=MAX_RECORDS)


def after_action(
    emergency: Emergency, records: Iterable[ReadEntry], now: datetime
) -> dict[str, Any]:
    """The report (JSON) at ``now``: the emergency, its changes, and the reads under it
    counted (so far, while it is open)."""
    changes: list[dict[str, Any]] = []
    by_reader: Counter[tuple[str, ...]] = Counter()
    by_field: Counter[tuple[str, ...]] = Counter()
    by_community: Counter[tuple[str, ...]] = Counter()
    rows: Counter[tuple[str, ...]] = Counter()
    reads = 0
    for record in records:
        if record.view == AUDIT_VIEW:
            changes.append(
                {
                    "at": record.at.isoformat(),
                    "operation": record.operation,
                    "by": record.audience,
                    "token": record.token_name,
                    "reason": record.purpose,
                }
            )
            continue
        reads += 1
        scope = record.emergency_scope or {}
        reader = (record.audience, record.token_name)
        by_reader[reader] += 1
        rows[reader] += record.rows
        for name in scope.get("fields", []):
            key = (record.audience, record.view, name)
            by_field[key] += 1
            rows[key] += record.rows
        communities = scope.get("communities", [])
        for code in ["*"] if communities == "*" else communities:
            key = (record.audience, record.view, f"community:{code}")
            by_community[key] += 1
            rows[key] += record.rows
    return {
        "emergency": emergency.as_json(now),
        "changes": changes,
        "reads": reads,
        "by_reader": [
            {"audience": a, "token": t, "reads": n, "rows": rows[(a, t)]}
            for (a, t), n in sorted(by_reader.items())
        ],
        "by_field": [
            {"audience": a, "view": v, "field": f, "reads": n, "rows": rows[(a, v, f)]}
            for (a, v, f), n in sorted(by_field.items())
        ],
        "by_community": [
            {
                "audience": a,
                "view": v,
                "community": c.removeprefix("community:"),
                "reads": n,
                "rows": rows[(a, v, c)],
            }
            for (a, v, c), n in sorted(by_community.items())
        ],
    }


def report_text(report: dict[str, Any]) -> str:
    """The report as a terminal reads it."""
    e = report["emergency"]
    lines = [
        f"emergency {e['id']} ({e['status']}), declared by {e['declared_by']}",
        f"  opened {e['opened_at']}, closes {e['ended_at'] or e['expires_at']}",
        f"  reason: {e['reason']}",
        "changes:",
        *(
            f"  {c['at']}  {c['operation']:<8} {c['by']} ({c['token']}): {c['reason']}"
            for c in report["changes"]
        ),
        f"reads under it: {report['reads']}",
        "by reader (audience, token): reads, rows",
        *(
            f"  {r['audience']}  {r['token']}: {r['reads']}, {r['rows']}"
            for r in report["by_reader"]
        ),
        "by field (audience, view, field): reads, rows",
        *(
            f"  {r['audience']}  {r['view']}.{r['field']}: {r['reads']}, {r['rows']}"
            for r in report["by_field"]
        ),
        "by community taken (audience, view, community): reads, rows",
        *(
            f"  {r['audience']}  {r['view']}  {r['community']}: {r['reads']}, {r['rows']}"
            for r in report["by_community"]
        ),
    ]
    return "\n".join(lines)
