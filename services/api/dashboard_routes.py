"""``GET /``: the community dashboard, plain HTML, CSS and JavaScript shipped in the package."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboard"
# Open without a token: the page and its files hold no data; the page asks for a token.
DASHBOARD_PATHS = frozenset({"/", "/dashboard"})


def dashboard_routes() -> list[BaseRoute]:
    """The page at ``/`` and its files under ``/dashboard/``."""

    async def index(_: Request) -> FileResponse:
        """the community dashboard (a page; it asks for an audience token)"""
        return FileResponse(DASHBOARD_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    return [
        Route("/", index),
        Mount("/dashboard", StaticFiles(directory=DASHBOARD_DIR), name="dashboard"),
    ]
