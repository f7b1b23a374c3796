"""``/public/{community}``: the release to residents, no token. The page, ``.json``, ``.atom``.

A release is made at the first request after each release instant, from the household and
community_situation views, protected by ``services.access.public_release`` against the
release before it, and kept: until the next instant every request gets the same figures
(``services.access.public_figures``). Strict paths: a 12-digit community code and an
optional suffix, else 404, as for a community the views do not hold. Requests are
rate-limited per client address; answers may be cached until the next release.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from services.access.public_figures import Household, build_release, public_view, release_instant
from services.access.public_release import Rules
from services.api.errors import ApiError
from services.api.public_feed import render_feed
from services.api.public_page import render_page
from services.api.rate_limit import RateLimit
from services.store.database import once_more_if_dead
from services.store.public_releases import (
    households,
    keep_release,
    released_at,
    releases,
    situation,
)

PUBLIC_ROUTE = "/public/{name}"
_NAME = re.compile(r"([0-9]{12})(\.json|\.atom)?")
FEED_ENTRIES = 20


def public_routes(
    engine: sa.Engine,
    rules: Rules,
    hours: int,
    limit: RateLimit,
    *,
    keep_days: int = 400,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Route]:
    """The public release's route over the view store; releases older than ``keep_days``
    are forgotten as new ones are kept."""

    def kept(community: str) -> list[dict[str, Any]]:
        at = release_instant(clock(), hours)
        with Session(engine) as session:
            found = releases(session, community, FEED_ENTRIES)
            if found and released_at(found[0]) >= at:
                return [r.body for r in found]
            homes = [Household(*h) for h in households(session, community)]
            record = situation(session, community)
        if not homes and record is None:
            return [r.body for r in found]  # nothing now: the last release, if any, stands
        projects = (record or {}).get("renovation_projects") or {}
        previous = found[0].body if found else None
        body = build_release(community, at, hours, homes, projects, previous, rules)
        keep_release(engine, community, at, body, at - timedelta(days=keep_days))
        with Session(engine) as session:
            return [r.body for r in releases(session, community, FEED_ENTRIES)]

    async def public(request: Request) -> Response:
        """the release to residents: k-anonymous counts, renovation, notices (no token)"""
        matched = _NAME.fullmatch(request.path_params["name"])
        if matched is None:
            raise ApiError(404, "no such community page")
        wait = limit.take(request.client.host if request.client else "")
        if wait > 0:
            raise ApiError(
                429,
                f"too many requests: at most {limit.per_minute} a minute",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        community, suffix = matched.group(1), matched.group(2)
        found = await asyncio.to_thread(once_more_if_dead, lambda: kept(community))
        if not found:
            raise ApiError(404, "no such community page")
        latest = public_view(found[0])
        headers = _cache_headers(latest, clock())
        if suffix == ".json":
            return JSONResponse(latest, headers=headers)
        if suffix == ".atom":
            feed = render_feed([public_view(b) for b in found], str(request.url))
            return Response(feed, media_type="application/atom+xml", headers=headers)
        return HTMLResponse(render_page(latest), headers=headers)

    return [Route(PUBLIC_ROUTE, public, methods=["GET", "HEAD"])]


def _cache_headers(release: dict[str, Any], now: datetime) -> dict[str, str]:
    """Cacheable by anyone until the next release (a release never changes before it)."""
    following = datetime.fromisoformat(release["next_release_at"].replace("Z", "+00:00"))
    seconds = max(0, int((following - now).total_seconds()))
    return {"Cache-Control": f"public, max-age={seconds}"}
