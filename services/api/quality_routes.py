"""``/quality``: each department's feed scorecard, as JSON for a token and as a page.

Who reads what, on the existing tokens: a department's token reads its own feed's
scorecard; an audience token reads every department's when its audience is one of
``DATONG_QUALITY_AUDIENCES`` (the operator's, by default the hub-wide
``community-dashboard``); anyone else is refused (403). The figures are counts, rates and
times about a feed, never about a resident: they are not audited as view reads are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from services.api.authentication import Authenticator, Principal
from services.api.catalog_routes import wants_page
from services.api.dashboard_routes import DASHBOARD_DIR
from services.api.errors import ApiError
from services.quality.scorecard import scorecard
from services.quality.stored import conflicts_by_day, department_days, first_day
from services.quality.tally import CHINA
from services.store.database import once_more_if_dead

QUALITY_ROUTE = "/quality"
QUALITY_DEPARTMENT_ROUTE = "/quality/{department}"
QUALITY_PAGE = DASHBOARD_DIR / "quality.html"


def readable(
    principal: Principal, departments: Collection[str], operators: Collection[str]
) -> list[str]:
    """The departments whose scorecards ``principal`` may read."""
    if principal.audience is not None and principal.audience in operators:
        return sorted(departments)
    own = principal.department
    return [own] if own is not None and own in departments else []


def quality_routes(
    engine: sa.Engine,
    departments: Collection[str],
    operators: Collection[str],
    days: int,
    authenticator: Authenticator,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Route]:
    """The scorecards' routes; they check their own token, since the page needs none."""

    def cards(wanted: list[str]) -> list[dict[str, Any]]:
        now = clock()
        since = first_day(now.astimezone(CHINA).date(), days)

        def read() -> list[dict[str, Any]]:
            with Session(engine) as session:
                return [
                    scorecard(
                        department,
                        department_days(session, department, since),
                        conflicts_by_day(session, department, since),
                        int(now.timestamp() * 1000),
                    )
                    for department in wanted
                ]

        return once_more_if_dead(read)

    async def every_feed(request: Request) -> Response:
        """every feed's scorecard the token may read (a department's token: its own)"""
        if wants_page(request):
            return FileResponse(QUALITY_PAGE, headers={"Cache-Control": "no-cache"})
        principal = await authenticator.principal(request)
        wanted = readable(principal, departments, operators)
        found = await asyncio.to_thread(cards, wanted)
        return JSONResponse({"days": days, "feeds": found})

    async def one_feed(request: Request) -> Response:
        """one department's feed scorecard, per day (the operator, or the department itself)"""
        department = request.path_params["department"]
        if department not in departments:
            raise ApiError(
                404,
                f"no department {department[:64]!r}; one of {', '.join(sorted(departments))}",
                field="department",
            )
        principal = await authenticator.principal(request)
        if department not in readable(principal, departments, operators):
            raise ApiError(
                403,
                f"this token may not read {department}'s scorecard: a department reads its "
                "own, and the operator's audiences (DATONG_QUALITY_AUDIENCES) every one",
                field="department",
            )
        found = await asyncio.to_thread(cards, [department])
        return JSONResponse({"days": days, **found[0]})

    return [
        Route(QUALITY_ROUTE, every_feed, methods=["GET", "HEAD"]),
        Route(QUALITY_DEPARTMENT_ROUTE, one_feed, methods=["GET", "HEAD"]),
    ]
