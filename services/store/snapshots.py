"""Snapshots of community_situation over time, for the dashboard's 7-day charts.

The table ``situation_snapshot(community_code, taken_at, data JSON)`` holds the rendered
community_situation record (as ``GET /views/community_situation/{code}`` shows it) at
``taken_at``; the merge side writes it. Until a store has the table, there is no history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

SITUATION_SNAPSHOT = sa.table(
    "situation_snapshot",
    sa.column("community_code", sa.String),
    sa.column("taken_at", sa.DateTime(timezone=True)),
    sa.column("data", sa.JSON),
)


def situation_history(
    session: Session, community_code: str, since: datetime
) -> list[tuple[datetime, dict[str, Any]]]:
    """``(taken_at, record)`` of one community's snapshots since ``since``, oldest first."""
    if not sa.inspect(session.connection()).has_table(SITUATION_SNAPSHOT.name):
        return []
    query = (
        sa.select(SITUATION_SNAPSHOT.c.taken_at, SITUATION_SNAPSHOT.c.data)
        .where(
            SITUATION_SNAPSHOT.c.community_code == community_code,
            SITUATION_SNAPSHOT.c.taken_at >= since,
        )
        .order_by(SITUATION_SNAPSHOT.c.taken_at)
    )
    return [(taken_at, dict(data)) for taken_at, data in session.execute(query)]
