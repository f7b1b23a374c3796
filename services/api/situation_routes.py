"""``GET /views/community_situation/{code}/history?days=7``: the series the dashboard draws.

Points are the hourly snapshots of the last ``days`` days (``situation_snapshot``, kept
by the merge worker), oldest first, then the current row: ``{"taken_at" (epoch ms),
"residents", "quarantined_households", "open_alerts" (summed over alert types),
"open_alerts_by_type", "health_status_counts"}``. The dashboard reads it beside its live
subscription, so it is authorised the same way (``services.api.live.access``), and
audited as one ``history`` read with its number of points. Each point is made from the
record as the reader's filter shows it: open alerts of the types it may know of, small
counts null, and a null sum when any count summed is null (a sum beside all but one of
its parts would tell the hidden one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.api.json_records import to_millis
from services.api.live.access import Authorize, RecordFilter
from services.api.params import MAX_COMMUNITY_CHARS, bounded_number, bounded_text
from services.store.database import once_more_if_dead
from services.store.views import snapshots, visible_row

VIEW = "community_situation"
MAX_DAYS = 31


def situation_routes(engine: sa.Engine, authorize: Authorize) -> list[Route]:
    """The history route over the view store."""

    async def history(request: Request) -> JSONResponse:
        """a community's situation over the last ?days=7 (audience token), for the dashboard"""
        code = bounded_text(request.path_params["code"], "code", MAX_COMMUNITY_CHARS)
        days = _days(request.query_params.get("days", "7"))
        reader = await authorize(request, VIEW, code, "history")
        now = datetime.now(UTC)
        since = now - timedelta(days=days)
        points = await asyncio.to_thread(
            once_more_if_dead, lambda: _points(engine, code, since, now, reader.record_filter)
        )
        # The code is recorded only when there was something to read: a made-up code (an
        # audience of every community may ask for any) is not kept at all, nor are the days
        # (a read of nothing keeps only its route and parameter names).
        asked = {"days": days, "community": code}
        await reader.record_answer(code if points else None, len(points), asked)
        return JSONResponse({"community_code": code, "days": days, "points": points})

    return [Route("/views/community_situation/{code}/history", history)]


def _days(text: str) -> int:
    return bounded_number(text, "days", 1, MAX_DAYS)


def _points(
    engine: sa.Engine, code: str, since: datetime, now: datetime, shown: RecordFilter
) -> list[dict[str, Any]]:
    with Session(engine) as session:
        taken = [(s.taken_at, s.data) for s in snapshots(session, code, since)]
        row = visible_row(session, VIEW, code)
        if row is not None:
            taken.append((now, row.data))  # a point reads only the row's counts
    # Snapshots hold the counts only: the community they are of is the path's.
    records = ((at, shown({**data, "community_code": code})) for at, data in taken)
    return [point(at, record) for at, record in records if record is not None]


def point(taken_at: datetime, record: Mapping[str, Any]) -> dict[str, Any]:
    """One point of the series from a community_situation record as its reader sees it."""
    by_type = {
        str(k): None if v is None else int(v) for k, v in (record.get("open_alerts") or {}).items()
    }
    counts = list(by_type.values())
    return {
        # SQLite hands timestamps back without a zone; they are stored in UTC.
        "taken_at": to_millis(taken_at if taken_at.tzinfo else taken_at.replace(tzinfo=UTC)),
        "residents": int(record.get("residents") or 0),
        "quarantined_households": int(record.get("quarantined_households") or 0),
        "open_alerts": None if None in counts else sum(n for n in counts if n is not None),
        "open_alerts_by_type": by_type,
        "health_status_counts": dict(record.get("health_status_counts") or {}),
    }
