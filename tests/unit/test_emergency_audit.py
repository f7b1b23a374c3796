"""The audit chain with emergency flags: a record without them hashes as every record did
before, and a flag (its id or what the read took) is covered by the record's hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

from services.access.audit_chain import (
    GENESIS,
    ChainBreak,
    ChainedRecord,
    ChainReport,
    chained,
    verify_chain,
)

AT = datetime(2026, 12, 7, 8, 0, 0, 123456, tzinfo=UTC)
BASE = {
    "at": AT,
    "token_id": "3f9a2c1b07de",
    "token_name": "desk",
    "audience": "civil-affairs",
    "purpose": "care",
    "view": "resident_profile",
    "operation": "list",
    "key": None,
    "query": {"fields": "health_status"},
    "rows": 3,
    "status": 200,
}
FLAGGED = {
    **BASE,
    "emergency_id": "em-0123456789ab",
    "emergency_scope": {"fields": ["health_status"], "communities": []},
}


def by_hand(prev: str, fields: dict[str, object]) -> str:
    """The module's rule written out: sha256(prev + newline + canonical JSON)."""
    values = {k: v for k, v in fields.items() if v is not None or k in BASE}
    values["at"] = "2026-12-07T08:00:00.123456Z"
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev}\n{text}".encode()).hexdigest()


def test_a_record_without_a_flag_hashes_as_before_emergencies() -> None:
    unflagged = {**BASE, "emergency_id": None, "emergency_scope": None}
    (row,) = chained(GENESIS, [unflagged])
    assert row["sha256"] == by_hand(GENESIS, BASE)


def test_a_flagged_records_hash_covers_its_emergency() -> None:
    (row,) = chained(GENESIS, [FLAGGED])
    assert row["sha256"] == by_hand(GENESIS, FLAGGED)
    assert row["sha256"] != by_hand(GENESIS, BASE)


def test_a_flag_edited_or_dropped_breaks_the_chain() -> None:
    rows = chained(GENESIS, [BASE | {"emergency_id": None, "emergency_scope": None}, FLAGGED])
    records = [
        ChainedRecord(n, dict(r), r["prev_sha256"], r["sha256"]) for n, r in enumerate(rows, 1)
    ]
    assert isinstance(verify_chain(records, rows[-1]["sha256"], 2), ChainReport)
    for edit in ({"emergency_id": None, "emergency_scope": None}, {"emergency_id": "em-other"}):
        edited = replace(records[1], fields={**records[1].fields, **edit})
        broken = verify_chain([records[0], edited], rows[-1]["sha256"], 2)
        assert isinstance(broken, ChainBreak) and broken.record_id == 2
