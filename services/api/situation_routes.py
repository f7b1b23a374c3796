"""``GET /views/community_situation/{code}/history?days=7``: the series the dashboard draws.

Points are the hourly snapshots of the last ``days`` days (``situation_snapshot``, kept
by the merge worker), oldest first, then the current row: ``{"taken_at" (epoch ms),
"residents", "quarantined_households", "open_alerts" (summed over alert types),
"open_alerts_by_type", "health_status_counts"}``. The dashboard reads it beside its live
subscription, so it is authorised the same way (``services.api.live.access``), and
audited as one ``history`` read with its number of points.
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
from services.api.live.access import Authorize
from services.api.params import MAX_COMMUNITY_CHARS, bounded_number, bounded_text
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
        points = await asyncio.to_thread(_points, engine, code, now - timedelta(days=days), now)
        # The code is recorded as the key only when there was something to read: a made-up
        # code (an audience of every community may ask for any) is not kept at all.
        asked: dict[str, Any] = {"days": days}
        if points:
            asked["community"] = code
        await reader.record_answer(code if points else None, len(points), asked)
        return JSONResponse({"community_code": code, "days": days, "points": points})

    return [Route("/views/community_situation/{code}/history", history)]


def _days(text: str) -> int:
    return bounded_number(text, "days", 1, MAX_DAYS)


def _points(engine: sa.Engine, code: str, since: datetime, now: datetime) -> list[dict[str, Any]]:
    with Session(engine) as session:
        points = [point(s.taken_at, s.data) for s in snapshots(session, code, since)]
        row = visible_row(session, VIEW, code)
        if row is not None:
            points.append(point(now, row.data))  # a point reads only the row's counts
    return points


def point(taken_at: datetime, record: Mapping[str, Any]) -> dict[str, Any]:
    """One point of the series from a community_situation record."""
    by_type = {str(k): int(v) for k, v in (record.get("open_alerts") or {}).items()}
    return {
        # SQLite hands timestamps back without a zone; they are stored in UTC.
        "taken_at": to_millis(taken_at if taken_at.tzinfo else taken_at.replace(tzinfo=UTC)),
        "residents": int(record.get("residents") or 0),
        "quarantined_households": int(record.get("quarantined_households") or 0),
        "open_alerts": sum(by_type.values()),
        "open_alerts_by_type": by_type,
        "health_status_counts": dict(record.get("health_status_counts") or {}),
    }
