"""Audit exports: a stretch of the hash chain as JSON lines, its head signed with Ed25519, so
anyone holding the public key can check it offline, without the database.

A file is one JSON object per record (``id``, the hashed fields, ``prev_sha256``,
``sha256``), then one last line: ``{"head": {...}, "signature": ...}``. The head names the
stretch (first record's ``prev_sha256``, last ``sha256`` and id, number of records, each
day's head); the signature covers its canonical JSON. Checking recomputes every record's
hash, follows every link, and compares the end with the signed head, so an edited, dropped
or added line shows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.access.audit_chain import (
    HASHED_FIELDS,
    OPTIONAL_HASHED_FIELDS,
    ChainBreak,
    ChainedRecord,
    ChainReport,
    record_hash,
    utc,
)
from services.errors import DatongError


class AuditExportError(DatongError):
    """An export file that cannot be read at all, or a public key that is not one."""


def signing_key(seed: bytes) -> Ed25519PrivateKey:
    """The Ed25519 key of the settings' ``audit_signing_key`` (its first 32 bytes)."""
    return Ed25519PrivateKey.from_private_bytes(seed[:32])


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The public half, as base64 of its 32 raw bytes (what ``--public-key`` takes)."""
    raw = key.public_key().public_bytes_raw()
    return base64.b64encode(raw).decode()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _line(record: ChainedRecord) -> dict[str, Any]:
    fields = dict(record.fields)
    fields["at"] = utc(fields["at"]).isoformat()
    return {"id": record.id, **fields, "prev_sha256": record.prev_sha256, "sha256": record.sha256}


def export_lines(records: Iterable[ChainedRecord], key: Ed25519PrivateKey) -> Iterator[str]:
    """The export of ``records`` (a contiguous stretch of the chain, in id order)."""
    first_prev, last, count = None, None, 0
    day_heads: dict[str, str] = {}
    for record in records:
        if record.sha256 is None:
            continue  # from before the chain: nothing to vouch for
        first_prev = record.prev_sha256 if first_prev is None else first_prev
        last, count = record, count + 1
        day_heads[utc(record.fields["at"]).date().isoformat()] = record.sha256
        yield json.dumps(_line(record), ensure_ascii=False, sort_keys=True) + "\n"
    head = {
        "after_sha256": first_prev,
        "sha256": last.sha256 if last else None,
        "last_id": last.id if last else None,
        "records": count,
        "day_heads": day_heads,
    }
    signature = base64.b64encode(key.sign(_canonical(head))).decode()
    yield json.dumps({"head": head, "signature": signature}, sort_keys=True) + "\n"


def verify_export(  # noqa: PLR0911 - one return per way an export can fail
    lines: Iterable[str], public_key: str
) -> ChainReport | ChainBreak:
    """Check an export against ``public_key`` (base64): the first break, or its report."""
    key = _public_key(public_key)
    parsed = [_parse(n, text) for n, text in enumerate(lines, 1) if text.strip()]
    if not parsed or "head" not in parsed[-1]:
        return ChainBreak(None, "the export has no signed head: it was cut short")
    trailer, records = parsed[-1], parsed[:-1]
    head = trailer["head"]
    try:
        key.verify(base64.b64decode(trailer.get("signature", "")), _canonical(head))
    except (InvalidSignature, ValueError):
        return ChainBreak(None, "the head's signature does not verify with this public key")
    expected = head.get("after_sha256")
    for record in records:
        fields = {name: record.get(name) for name in HASHED_FIELDS + OPTIONAL_HASHED_FIELDS}
        try:
            fields["at"] = datetime.fromisoformat(str(fields["at"]))
        except ValueError:
            return ChainBreak(record.get("id"), "was altered: its time is not a time")
        if record.get("prev_sha256") != expected:
            return ChainBreak(
                record.get("id"), "does not follow the line before it: a line was removed or added"
            )
        if record_hash(expected, fields) != record.get("sha256"):
            return ChainBreak(record.get("id"), "was altered: its fields do not match its hash")
        expected = record["sha256"]
    if expected != head.get("sha256") or len(records) != head.get("records"):
        return ChainBreak(head.get("last_id"), "the lines do not end at the signed head")
    return ChainReport(
        len(records), {datetime.fromisoformat(d).date(): h for d, h in head["day_heads"].items()}
    )


def _public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as exc:
        raise AuditExportError(f"the public key is not base64 of 32 bytes: {exc}") from None


def _parse(number: int, text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise AuditExportError(f"line {number} of the export is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise AuditExportError(f"line {number} of the export is not a JSON object")
    return value
