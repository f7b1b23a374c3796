"""Deletes expired history from the view store in small transactions.

What is expired is decided in ``services/retention.py``; this applies it. Each batch is
one DELETE in its own short transaction, so a merge never waits long behind a prune, and
the DELETE states the whole condition again outside its subquery: on PostgreSQL a row a
merge reopened while the batch was chosen (an alert raised again under its old id) is
not deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from services.retention import CLOSED_ALERT, SITUATION_SNAPSHOT, Expiry
from services.store.models import SituationSnapshot, ViewRow

ALERT_VIEW = "alert"
_VIEW_ROW: sa.Table = ViewRow.__table__  # type: ignore[assignment]
_SNAPSHOT: sa.Table = SituationSnapshot.__table__  # type: ignore[assignment]
_Target = tuple[sa.Table, list[sa.Column[object]], sa.ColumnElement[bool]]


def delete_expired(engine: sa.Engine, expiry: Expiry, batch_size: int) -> int:
    """Delete the rows ``expiry`` names, ``batch_size`` per transaction; return how many.

    Raises:
        ValueError: ``expiry`` names a kind of row this store does not keep.
    """
    if expiry.kind == CLOSED_ALERT:
        table, keys, expired = _closed_alerts(expiry.before)
    elif expiry.kind == SITUATION_SNAPSHOT:
        table, keys, expired = _snapshots(expiry.before)
    else:
        raise ValueError(f"no rows of kind {expiry.kind!r} in the view store")
    deleted = 0
    while True:
        # One statement per batch: a SELECT then a DELETE in one SQLite transaction would
        # fail at once (not wait) whenever a merge committed in between.
        chosen = sa.select(*keys).where(expired).limit(batch_size)
        with engine.begin() as conn:
            removed = conn.execute(
                sa.delete(table).where(sa.tuple_(*keys).in_(chosen)).where(expired)
            ).rowcount
        deleted += removed
        if removed < batch_size:
            return deleted


def _closed_alerts(before: datetime) -> _Target:
    row = _VIEW_ROW.c
    # closed_at is the event time in milliseconds: beyond a 32-bit integer, hence BIGINT.
    closed_at = sa.cast(row.data["closed_at"].as_string(), sa.BigInteger)
    expired = sa.and_(
        row.view == ALERT_VIEW,
        row.visible.is_(False),
        row.data["status"].as_string() == "CLOSED",
        closed_at < int(before.timestamp() * 1000),
    )
    return _VIEW_ROW, [row.view, row.key], expired


def _snapshots(before: datetime) -> _Target:
    snapshot = _SNAPSHOT.c
    # On SQLite a time is compared as text written in UTC (services/store/sqlite_merge.py).
    return (
        _SNAPSHOT,
        [snapshot.community_code, snapshot.taken_at],
        snapshot.taken_at < before.astimezone(UTC),
    )
