"""Which routes need a token: every route and mount is guarded unless it is named open.

``require_tokens(routes, authenticator)`` puts a bearer check in front of every route and
mount except the open ones (``OPEN_PATHS``, and reads of ``/registry``, lookups included:
``registry_reads``); a route added
later is guarded too unless it is named open. Missing, unknown or revoked token: 401 with
``WWW-Authenticate: Bearer``. Routes named in ``query_token_paths`` also take the token as
``?access_token=`` (a browser's EventSource cannot send headers). Writes to the schema
registry need a token here; which token may write which subject, and their audit, are
``registry_writes``'s.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.authentication import Authenticator

# Open without a token: probes, Prometheus scraping, and the API's own description (which
# says no more than the schema registry's reads, which are open too).
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/asyncapi.yaml"}
)
# Confluent clients and department tools read schemas by id to decode records, and
# connectors look up the id of the schema they write (a POST carrying the schema, which
# changes nothing): the schemas are contracts, not data, and a connector needs no token.
# Writes (register, delete, config) need a token, of the subject's department.
OPEN_READS_UNDER = "/registry"
READ_METHODS = frozenset({"GET", "HEAD"})
# Routes of the registry (inside its mount) whose POST only reads: a lookup of a schema
# under a subject, and compatibility tests.
_REGISTRY_READING_POSTS = frozenset(
    {
        "/subjects/{subject}",
        "/compatibility/subjects/{subject}/versions",
        "/compatibility/subjects/{subject}/versions/{version}",
    }
)


def registry_reads(path: str) -> frozenset[str]:
    """The methods anyone may call, without a token, on the registry route ``path`` (as
    mounted under ``/registry``, or without the prefix): reads, and POSTs that only read."""
    inner = path.removeprefix(OPEN_READS_UNDER)
    return READ_METHODS | {"POST"} if inner in _REGISTRY_READING_POSTS else READ_METHODS


def require_tokens(
    routes: Iterable[BaseRoute],
    authenticator: Authenticator,
    *,
    open_paths: Collection[str] = OPEN_PATHS,
    self_authenticating: Collection[str] = (),
    query_token_paths: Collection[str] = (),
) -> list[BaseRoute]:
    """Guard every route (in place), mounted ones too, but:

    - ``open_paths`` (route or mount paths) and reads under ``/registry`` (``registry_reads``):
      no token needed;
    - ``self_authenticating``: paths whose endpoint checks its own token (the intake);
    - ``query_token_paths``: guarded, but the token may come as ``?access_token=`` too.
    """
    routes = list(routes)
    for route in routes:
        if route_path(route) in open_paths or route_path(route) in self_authenticating:
            continue
        if isinstance(route, Mount) and route.routes:
            registry = route.path == OPEN_READS_UNDER
            for inner in route.routes:
                if isinstance(inner, Route):
                    open_methods = registry_reads(inner.path) if registry else frozenset()
                    inner.app = _Guard(inner.app, authenticator, open_methods=open_methods)
        elif isinstance(route, Route | Mount):
            allow_query = route.path in query_token_paths
            route.app = _Guard(route.app, authenticator, allow_query=allow_query)
    return routes


def route_path(route: BaseRoute) -> str | None:
    """The path template of a route or mount."""
    return route.path if isinstance(route, Route | Mount) else None


class _Guard:
    """ASGI wrapper: no valid token, no entry (401), but for ``open_methods``."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        *,
        open_methods: frozenset[str] = frozenset(),
        allow_query: bool = False,
    ) -> None:
        self.app, self.authenticator = app, authenticator
        self.open_methods = open_methods
        self.allow_query = allow_query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method not in self.open_methods:
            await self.authenticator.principal(request, self.allow_query)
        await self.app(scope, receive, send)
