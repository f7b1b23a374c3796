"""The read audit: one record per read through the API, and the operator's query over them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from services.access.audit_chain import (
    CHAIN,
    GENESIS,
    HASHED_FIELDS,
    ChainBreak,
    ChainedRecord,
    ChainReport,
    chained,
    verify_chain,
)
from services.access.audit_export import export_lines
from services.store.access_models import AuditChainTail, ReadAudit


@dataclass(frozen=True)
class ReadEntry:
    """Who read what: token, audience and purpose; view, operation, key or filter; row count.

    ``operation`` is ``row``, ``list``, ``export`` or ``subscribe``; ``status`` the HTTP
    status answered (a refused read is audited too).
    """

    token_id: str
    token_name: str
    audience: str
    purpose: str
    view: str
    operation: str
    key: str | None
    query: dict[str, Any]
    rows: int
    status: int
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


AuditSink = Callable[[Sequence[ReadEntry]], None]  # where read records go (``record_reads``)


def record_reads(engine: sa.Engine, entries: Sequence[ReadEntry]) -> None:
    """Append audit records to the hash chain in one transaction.

    Core statements on one connection, four round trips whatever the number of records
    (the tail locked and read, the records inserted, the tail moved, the commit): the API
    group-commits every read waiting at a moment through here.
    """
    if not entries:
        return
    with engine.begin() as conn:
        append_entries(conn, entries)


def append_entries(conn: sa.Connection, entries: Sequence[ReadEntry]) -> None:
    """Append audit records to the hash chain inside the caller's transaction: a change
    recorded there (a sharing request's step) commits with its record, or neither does."""
    if not entries:
        return
    previous = _locked_tail(conn)
    rows = chained(previous or GENESIS, [asdict(e) for e in entries])
    ids = conn.scalars(
        sa.insert(ReadAudit).returning(ReadAudit.id, sort_by_parameter_order=True), rows
    ).all()
    conn.execute(
        sa.update(AuditChainTail)
        .where(AuditChainTail.name == CHAIN)
        .values(sha256=rows[-1]["sha256"], last_id=max(ids))
    )


def _locked_tail(conn: sa.Connection) -> str | None:
    """The chain's last hash, its row locked until the transaction ends: an update that
    returns it takes PostgreSQL's row lock and SQLite's write lock before it is read."""
    touched = conn.execute(
        sa.update(AuditChainTail)
        .where(AuditChainTail.name == CHAIN)
        .values(name=AuditChainTail.name)
        .returning(AuditChainTail.sha256)
    ).first()
    if touched is None:  # a store made without migrations
        conn.execute(sa.insert(AuditChainTail).values(name=CHAIN, sha256=None, last_id=None))
        return None
    last: str | None = touched.sha256
    return last


def verify_reads(engine: sa.Engine) -> ChainReport | ChainBreak:
    """Verify the whole read audit's hash chain (``services.access.audit_chain``)."""
    with Session(engine) as session:
        tail = session.get(AuditChainTail, CHAIN)
        return verify_chain(
            _chained_records(session, None),
            tail.sha256 if tail else None,
            tail.last_id if tail else None,
        )


def export_reads(engine: sa.Engine, since: datetime, out: TextIO, key: Ed25519PrivateKey) -> int:
    """Write the chain from the first record at or after ``since`` to its end, signed
    (``services.access.audit_export``); returns how many records it holds."""
    with Session(engine) as session:
        first = session.scalar(
            sa.select(sa.func.min(ReadAudit.id)).where(ReadAudit.at >= since.astimezone(UTC))
        )
        records = _chained_records(session, first) if first is not None else iter(())
        count = -1  # the last line is the signed head
        for line in export_lines(records, key):
            out.write(line)
            count += 1
    return count


def _chained_records(session: Session, from_id: int | None) -> Iterator[ChainedRecord]:
    """The records from ``from_id`` on (None: all), in chain order."""
    query = sa.select(ReadAudit).order_by(ReadAudit.id).execution_options(yield_per=1000)
    if from_id is not None:
        query = query.where(ReadAudit.id >= from_id)
    for r in session.scalars(query):
        fields = {name: getattr(r, name) for name in HASHED_FIELDS}
        yield ChainedRecord(r.id, fields, r.prev_sha256, r.sha256)


def find_reads(
    engine: sa.Engine,
    *,
    audience: str | None = None,
    view: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[ReadEntry]:
    """The newest ``limit`` audit records matching the filters, oldest first."""
    query = sa.select(ReadAudit)
    if audience is not None:
        query = query.where(ReadAudit.audience == audience)
    if view is not None:
        query = query.where(ReadAudit.view == view)
    if since is not None:
        query = query.where(ReadAudit.at >= since.astimezone(UTC))
    query = query.order_by(ReadAudit.at.desc(), ReadAudit.id.desc()).limit(limit)
    with Session(engine) as session:
        rows = list(session.scalars(query))
    return [
        ReadEntry(
            token_id=r.token_id,
            token_name=r.token_name,
            audience=r.audience,
            purpose=r.purpose,
            view=r.view,
            operation=r.operation,
            key=r.key,
            query=dict(r.query),
            rows=r.rows,
            status=r.status,
            at=r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC),  # SQLite drops the zone
        )
        for r in reversed(rows)
    ]
