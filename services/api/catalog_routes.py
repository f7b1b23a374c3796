"""``/catalog``: the data catalogue (目录), as JSON for a token and as a page for a browser.

``GET /catalog`` with any valid token (an audience's or a department's) answers the
catalogue as JSON (``services.access.data_catalog``): it names audiences and their
grants, which is the hub's governance, not public. A browser asking for HTML gets the page
instead, which holds no data and asks for a token, as the dashboard does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from schemas.catalog import Catalog
from services.access.data_catalog import build_catalog
from services.access.policy import Policy
from services.access.request_store import live_grants
from services.api.authentication import Authenticator
from services.api.dashboard_routes import DASHBOARD_DIR
from services.feed_schedule import FeedSchedule
from services.store.database import once_more_if_dead
from services.store.views import newest_events

CATALOG_ROUTE = "/catalog"
CATALOG_PAGE = DASHBOARD_DIR / "catalog.html"


def wants_page(request: Request) -> bool:
    """Whether the caller is a browser asking for a page rather than a client asking for JSON."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def catalog_routes(
    engine: sa.Engine,
    contracts: Catalog,
    policy: Policy,
    schedule: FeedSchedule,
    authenticator: Authenticator,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Route]:
    """The catalogue's route; it checks its own token, since its page needs none."""

    def observe() -> dict[str, Any]:
        def read() -> dict[str, int]:
            with Session(engine) as session:
                return newest_events(session)

        newest = once_more_if_dead(read)
        now = clock()
        grants = once_more_if_dead(lambda: live_grants(engine, now))
        return build_catalog(contracts, policy, schedule, newest, now, grants=grants)

    async def catalog(request: Request) -> Response:
        """the data catalogue: every view field's owner, sharing class and readers (any token)"""
        if wants_page(request):
            return FileResponse(CATALOG_PAGE, headers={"Cache-Control": "no-cache"})
        await authenticator.principal(request)
        return JSONResponse(await asyncio.to_thread(observe))

    return [Route(CATALOG_ROUTE, catalog, methods=["GET", "HEAD"])]
