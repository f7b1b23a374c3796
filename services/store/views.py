"""Data functions over the view store; the caller owns the session and its transaction."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.merge.batch import StoredRow
from services.merge.merge import Conflict, Provenance, Row
from services.store.models import MergeConflict, Outbox, SituationSnapshot, ViewRow


@dataclass(frozen=True)
class OutboxEntry:
    """One view change to publish."""

    topic: str
    key: bytes
    value: bytes | None
    headers: dict[str, str]


def state_json(row: Row) -> dict[str, Any]:
    """A row's merge state as the ``state`` column holds it."""
    provenance = {k: [p.department, p.event_id, p.event_time_ms] for k, p in row.provenance.items()}
    return {"values": dict(row.values), "provenance": provenance}


def _stored(view_row: ViewRow) -> StoredRow:
    state = view_row.state or {}
    provenance = {
        k: Provenance(d, e, int(t)) for k, (d, e, t) in state.get("provenance", {}).items()
    }
    row = Row(view_row.key, dict(state.get("values", {})), provenance)
    record = dict(view_row.data) if view_row.data or view_row.visible else None
    return StoredRow(
        row, record, dict(view_row.provenance), view_row.community_code, view_row.visible
    )


def load_rows(session: Session, view: str, keys: Iterable[str]) -> dict[str, StoredRow]:
    """The stored rows of ``view`` among ``keys`` (absent keys are missing from the result)."""
    wanted = sorted(set(keys))
    found: dict[str, StoredRow] = {}
    for start in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
        chunk = wanted[start : start + 500]
        query = sa.select(ViewRow).where(ViewRow.view == view, ViewRow.key.in_(chunk))
        for stored in session.scalars(query):
            found[stored.key] = _stored(stored)
    return found


def keys_in_community(session: Session, view: str, community: str) -> list[str]:
    """Keys of every stored row of ``view`` in a community, shown or not."""
    query = sa.select(ViewRow.key).where(ViewRow.view == view, ViewRow.community_code == community)
    return list(session.scalars(query))


def _upsert(
    session: Session, table: Any, rows: list[dict[str, Any]], keys: list[str], update: bool
) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    if update:
        columns = {c: getattr(statement.excluded, c) for c in rows[0] if c not in keys}
        statement = statement.on_conflict_do_update(index_elements=keys, set_=columns)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    session.execute(statement, rows)


def save_rows(session: Session, view: str, rows: Sequence[StoredRow]) -> None:
    """Insert or replace rows of ``view`` in one statement (the last of a key wins)."""
    rows = list({s.row.key: s for s in rows}.values())
    _upsert(
        session,
        ViewRow.__table__,
        [
            {
                "view": view,
                "key": s.row.key,
                "community_code": s.community_code,
                "visible": s.visible,
                "data": s.record or {},
                "provenance": dict(s.provenance),
                "state": state_json(s.row),
            }
            for s in rows
        ],
        ["view", "key"],
        update=True,
    )


def add_conflicts(session: Session, conflicts: Sequence[Conflict]) -> None:
    """Record conflicts; a replayed event records nothing new."""
    _upsert(
        session,
        MergeConflict.__table__,
        [
            {
                "view": c.view,
                "key": c.key,
                "field": c.field,
                "event_id": c.source.event_id,
                "owner": c.owner,
                "department": c.source.department,
                "event_time_ms": c.source.event_time_ms,
            }
            for c in conflicts
        ],
        ["view", "key", "field", "event_id"],
        update=False,
    )


def add_outbox(session: Session, entries: Sequence[OutboxEntry]) -> None:
    """Queue view changes for publishing, in the caller's transaction."""
    now = datetime.now(UTC)
    if entries:
        session.execute(
            sa.insert(Outbox),
            [
                {
                    "topic": e.topic,
                    "key": e.key,
                    "value": e.value,
                    "headers": e.headers,
                    "created_at": now,
                    "published": False,
                }
                for e in entries
            ],
        )


def pending_outbox(session: Session, limit: int) -> list[Outbox]:
    """The oldest unpublished view changes, in commit order."""
    query = sa.select(Outbox).where(Outbox.published.is_(False)).order_by(Outbox.id).limit(limit)
    return list(session.scalars(query))


def mark_published(session: Session, ids: Sequence[int]) -> None:
    """Mark outbox entries as sent."""
    if ids:
        session.execute(sa.update(Outbox).where(Outbox.id.in_(ids)).values(published=True))


def visible_row(session: Session, view: str, key: str) -> ViewRow | None:
    """The row of ``view`` at ``key`` if the view shows it."""
    stored = session.get(ViewRow, (view, key))
    return stored if stored is not None and stored.visible else None


def conflicts_for(session: Session, view: str, key: str) -> list[MergeConflict]:
    """Conflicts recorded against a row."""
    query = sa.select(MergeConflict).where(MergeConflict.view == view, MergeConflict.key == key)
    return list(session.scalars(query))


def visible_page(
    session: Session,
    view: str,
    communities: Collection[str] | None,
    after: tuple[str | None, str] | None,
    limit: int,
) -> list[ViewRow]:
    """Up to ``limit`` visible rows of ``view`` in (community_code, key) order, after ``after``.

    ``communities`` None means every row: those of every community first, then the rows
    without a community (each part walks ix_view_row_community in order). ``after`` is the
    (community_code, key) of the last row of the previous page.
    """
    base = sa.select(ViewRow).where(ViewRow.view == view, ViewRow.visible.is_(True))
    rows: list[ViewRow] = []
    after_community, after_key = after if after is not None else (None, None)
    if after is None or after_community is not None:
        known = base.where(ViewRow.community_code.is_not(None))
        if communities is not None:
            known = known.where(ViewRow.community_code.in_(sorted(communities)))
        if after_community is not None and after_key is not None:
            known = known.where(
                sa.tuple_(ViewRow.community_code, ViewRow.key)
                > sa.tuple_(sa.literal(after_community), sa.literal(after_key))
            )
        query = known.order_by(ViewRow.community_code, ViewRow.key).limit(limit)
        rows.extend(session.scalars(query))
    if communities is None and len(rows) < limit:
        unknown = base.where(ViewRow.community_code.is_(None))
        if after_community is None and after_key is not None:
            unknown = unknown.where(ViewRow.key > after_key)
        query = unknown.order_by(ViewRow.key).limit(limit - len(rows))
        rows.extend(session.scalars(query))
    return rows


def save_snapshots(
    session: Session, taken_at: datetime, situations: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Keep each community's latest situation of the hour ``taken_at`` (replaces earlier ones)."""
    _upsert(
        session,
        SituationSnapshot.__table__,
        [{"community_code": c, "taken_at": taken_at, "data": data} for c, data in situations],
        ["community_code", "taken_at"],
        update=True,
    )


def snapshots(session: Session, community: str, since: datetime) -> list[SituationSnapshot]:
    """A community's hourly situations since ``since``, oldest first."""
    query = (
        sa.select(SituationSnapshot)
        .where(SituationSnapshot.community_code == community, SituationSnapshot.taken_at >= since)
        .order_by(SituationSnapshot.taken_at)
    )
    return list(session.scalars(query))
