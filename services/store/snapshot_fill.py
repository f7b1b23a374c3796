"""Situation snapshots added to the view store for hours it has none of, never replacing one.

The history replay (``services/rebuild/history.py``) derives past hours' snapshots; the
worker's own, taken live, stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.models import SituationSnapshot


@dataclass(frozen=True)
class Snapshot:
    """A community's situation record at the end of an hour (``taken_at``: the hour, UTC)."""

    community_code: str
    taken_at: datetime
    data: dict[str, Any]


def fill_missing(engine: sa.Engine, snapshots: Sequence[Snapshot]) -> int:
    """Insert the ``snapshots`` whose community and hour the store has no snapshot of, in
    one transaction; return how many went in."""
    if not snapshots:
        return 0
    earliest = min(s.taken_at for s in snapshots).astimezone(UTC)
    communities = sorted({s.community_code for s in snapshots})
    with Session(engine) as session, session.begin():
        present = {
            (code, _hour(at))
            for code, at in session.execute(
                sa.select(SituationSnapshot.community_code, SituationSnapshot.taken_at).where(
                    SituationSnapshot.community_code.in_(communities),
                    SituationSnapshot.taken_at >= earliest,
                )
            )
        }
        rows = [
            {"community_code": s.community_code, "taken_at": _hour(s.taken_at), "data": s.data}
            for s in snapshots
            if (s.community_code, _hour(s.taken_at)) not in present
        ]
        if rows:
            session.execute(sa.insert(SituationSnapshot), rows)
    return len(rows)


def _hour(moment: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they are stored in UTC.
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(minute=0, second=0, microsecond=0)
