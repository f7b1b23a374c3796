"""The after-action report of an emergency, counted from hand-made audit records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.access.audit import ReadEntry
from services.access.emergency import Emergency, Opening
from services.access.emergency_report import after_action

CIVIL = "civil-affairs"
PROFILE = "resident_profile"
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HEALTH_STATUS = Opening(CIVIL, {PROFILE: frozenset({"health_status"})})


def emergency(opening: Opening, hours: int) -> Emergency:
    return Emergency(
        "em-1", "operator", "flood", T0, T0 + timedelta(hours=hours), {opening.audience: opening}
    )


def _entry(audience: str, token: str, view: str, rows: int, scope: dict[str, Any]) -> ReadEntry:
    return ReadEntry(token, token, audience, "p", view, "list", None, {}, rows, 200, T0,
                     "em-1", scope)  # fmt: skip


def test_the_after_action_report_counts_reads_and_rows_by_reader_field_and_community() -> None:
    declared = emergency(HEALTH_STATUS, hours=2)
    change = ReadEntry("ops", "operator ops", "operator", "flood", "emergency", "declare",
                       "em-1", {}, 0, 200, T0, "em-1")  # fmt: skip
    records = [
        change,
        _entry(CIVIL, "desk", PROFILE, 3, {"fields": ["health_status"], "communities": []}),
        _entry(CIVIL, "desk", PROFILE, 2, {"fields": ["health_status"], "communities": "*"}),
        _entry(CIVIL, "van", "household", 4, {"fields": [], "communities": ["610103001001"]}),
    ]  # fmt: skip
    report = after_action(declared, records, T0 + timedelta(hours=1))
    assert report["emergency"]["status"] == "open"
    assert report["reads"] == 3
    assert [(c["operation"], c["by"], c["reason"]) for c in report["changes"]] == [
        ("declare", "operator", "flood")
    ]
    assert report["by_reader"] == [
        {"audience": CIVIL, "token": "desk", "reads": 2, "rows": 5},
        {"audience": CIVIL, "token": "van", "reads": 1, "rows": 4},
    ]
    assert report["by_field"] == [
        {"audience": CIVIL, "view": "resident_profile", "field": "health_status", "reads": 2,
         "rows": 5},
    ]  # fmt: skip
    assert report["by_community"] == [
        {"audience": CIVIL, "view": "household", "community": "610103001001", "reads": 1,
         "rows": 4},
        {"audience": CIVIL, "view": "resident_profile", "community": "*", "reads": 1, "rows": 2},
    ]  # fmt: skip
