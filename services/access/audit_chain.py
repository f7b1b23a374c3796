"""The read audit as a hash chain: each record's SHA-256 covers its fields and the hash of
the record before it, so an edited, deleted or inserted record shows (pure: no I/O).

The first chained record follows ``GENESIS``; the chain's tail (the last record's hash and
id) is kept beside it, so that records cut off the end show too. A record's hash is
``sha256(prev_hash + "\\n" + canonical JSON of its fields)``, the fields as read back from
either store (times in UTC to the microsecond).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

GENESIS = "0" * 64
CHAIN = "read_audit"  # the tail's name
HASHED_FIELDS = (
    "at",
    "token_id",
    "token_name",
    "audience",
    "purpose",
    "view",
    "operation",
    "key",
    "query",
    "rows",
    "status",
)
# Hashed only when set, so a record without them (every one from before emergencies) keeps
# the hash it was written with: a read made under an emergency, and what it took from it.
OPTIONAL_HASHED_FIELDS = ("emergency_id", "emergency_scope")


@dataclass(frozen=True)
class ChainedRecord:
    """One stored audit record as the chain sees it."""

    id: int
    fields: Mapping[str, Any]  # HASHED_FIELDS and the OPTIONAL_HASHED_FIELDS set
    prev_sha256: str | None
    sha256: str | None


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain first fails: the record it names, and what is wrong there."""

    record_id: int | None
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """A verified chain: how many records it holds and each day's head (its last hash)."""

    records: int
    day_heads: dict[date, str]


def utc(instant: datetime) -> datetime:
    """An instant in UTC (SQLite hands times back without their zone; they are UTC)."""
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def record_hash(prev_sha256: str, fields: Mapping[str, Any]) -> str:
    """The hash of a record with these fields following a record whose hash is given."""
    values = {name: fields[name] for name in HASHED_FIELDS}
    values |= {n: fields[n] for n in OPTIONAL_HASHED_FIELDS if fields.get(n) is not None}
    values["at"] = utc(values["at"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_sha256}\n{text}".encode()).hexdigest()


def chained(prev_sha256: str, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``records`` (each with HASHED_FIELDS) with their ``prev_sha256`` and ``sha256``, in
    order, the first following ``prev_sha256``."""
    out = []
    for record in records:
        digest = record_hash(prev_sha256, record)
        out.append({**record, "prev_sha256": prev_sha256, "sha256": digest})
        prev_sha256 = digest
    return out


def verify_chain(
    records: Iterable[ChainedRecord], tail_sha256: str | None, tail_id: int | None
) -> ChainReport | ChainBreak:
    """Walk the records in id order; the first break, or the report of an intact chain.

    Records before the first chained one (from before the chain) are left out.
    """
    expected, last_id, count = GENESIS, None, 0
    heads: dict[date, str] = {}
    for record in records:
        if record.sha256 is None:
            if count:
                return ChainBreak(record.id, "has no hash inside the chain (inserted?)")
            continue
        if record.prev_sha256 != expected:
            what = "the record before it" if count else "the start of the chain"
            return ChainBreak(
                record.id,
                f"does not follow {what}: a record before it was deleted or inserted",
            )
        if record_hash(expected, record.fields) != record.sha256:
            return ChainBreak(record.id, "was altered: its fields do not match its hash")
        expected, last_id, count = record.sha256, record.id, count + 1
        heads[utc(record.fields["at"]).date()] = record.sha256
    if (tail_sha256 or None, tail_id) != ((expected if count else None), last_id):
        return ChainBreak(
            tail_id,
            f"the chain ends at record {last_id} but was last extended to record {tail_id}: "
            "records at its end were deleted or inserted",
        )
    return ChainReport(count, heads)
