"""Which routes need a token: every route and mount is guarded unless it is named open.

``require_tokens(routes, authenticator)`` puts a bearer check in front of every route and
mount except the open ones (``OPEN_PATHS``, and reads of ``/registry``); a route added
later is guarded too unless it is named open. Missing, unknown or revoked token: 401 with
``WWW-Authenticate: Bearer``. Routes named in ``query_token_paths`` also take the token as
``?access_token=`` (a browser's EventSource cannot send headers). Writes to the schema
registry need a department token (403 otherwise).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.authentication import Authenticator
from services.api.errors import ApiError

# Open without a token: probes, Prometheus scraping, and the API's own description (which
# says no more than the schema registry's reads, which are open too).
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/asyncapi.yaml"}
)
# Confluent clients and department tools read schemas by id to decode records; the
# schemas are contracts, not data. Writes (register, delete, config) need a department token.
OPEN_READS_UNDER = "/registry"
READ_METHODS = frozenset({"GET", "HEAD"})


def require_tokens(
    routes: Iterable[BaseRoute],
    authenticator: Authenticator,
    *,
    open_paths: Collection[str] = OPEN_PATHS,
    self_authenticating: Collection[str] = (),
    query_token_paths: Collection[str] = (),
) -> list[BaseRoute]:
    """Guard every route (in place), mounted ones too, but:

    - ``open_paths`` (route or mount paths) and reads under ``/registry``: no token needed;
    - ``self_authenticating``: paths whose endpoint checks its own token (the intake);
    - ``query_token_paths``: guarded, but the token may come as ``?access_token=`` too.
    """
    routes = list(routes)
    for route in routes:
        if route_path(route) in open_paths or route_path(route) in self_authenticating:
            continue
        if isinstance(route, Mount) and route.routes:
            reads_open = route.path == OPEN_READS_UNDER
            for inner in route.routes:
                if isinstance(inner, Route):
                    inner.app = _Guard(inner.app, authenticator, reads_open=reads_open)
        elif isinstance(route, Route | Mount):
            allow_query = route.path in query_token_paths
            route.app = _Guard(route.app, authenticator, allow_query=allow_query)
    return routes


def route_path(route: BaseRoute) -> str | None:
    """The path template of a route or mount."""
    return route.path if isinstance(route, Route | Mount) else None


class _Guard:
    """ASGI wrapper: no valid token, no entry (401)."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        *,
        reads_open: bool = False,
        allow_query: bool = False,
    ) -> None:
        self.app, self.authenticator = app, authenticator
        self.reads_open, self.allow_query = reads_open, allow_query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if not (self.reads_open and request.method in READ_METHODS):
            principal = await self.authenticator.principal(request, self.allow_query)
            if self.reads_open and principal.department is None:
                raise ApiError(403, "changing the schema registry needs a department token")
        await self.app(scope, receive, send)
