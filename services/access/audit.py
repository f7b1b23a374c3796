"""The read audit: one record per read through the API, and the operator's query over them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.access_models import ReadAudit


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
    """Append audit records in one transaction."""
    if entries:
        with Session(engine) as session, session.begin():
            session.execute(sa.insert(ReadAudit), [asdict(e) for e in entries])


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
