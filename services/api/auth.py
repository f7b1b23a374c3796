"""Who is calling: bearer tokens on every route, and what an audience may read of a view.

- ``require_tokens(routes, authenticator)`` puts a bearer check in front of every route and
  mount except the open ones (``OPEN_PATHS``, and reads of ``/registry``, lookups included:
  ``registry_reads``); a route added
  later is guarded too unless it is named open. Missing, unknown or revoked token: 401 with
  ``WWW-Authenticate: Bearer``. Routes named in ``query_token_paths`` also take the token as
  ``?access_token=`` (a browser's EventSource cannot send headers).
- ``ReadAccess.authorize(request, view, community=, fields=)`` is the one entry of every
  read path (row, list, export, subscriptions): it answers 404 for an unknown view, 403 for a
  department token, a view, community or field outside the audience's policy, and returns
  the ``ReadScope`` whose grant every record is filtered through (``filter_record``).
- ``ingest_authorizer`` is the connectors' intake's check, so database-made department
  tokens publish beside the ``DATONG_INGEST_TOKENS`` ones, and revocations apply at once.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from services.access.audit import ReadEntry
from services.access.policy import (
    FieldNotGranted,
    Grant,
    Policy,
    allows_community,
    filter_record,
)
from services.access.tokens import find_token, secret_digest, token_live
from services.api.errors import ApiError, unauthorized

# Open without a token: probes, Prometheus scraping, and the API's own description (which
# says no more than the schema registry's reads, which are open too).
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/asyncapi.yaml"}
)
# Confluent clients and department tools read schemas by id to decode records, and
# connectors look up the id of the schema they write (a POST carrying the schema, which
# changes nothing): the schemas are contracts, not data, and a connector needs no token.
# Writes (register, delete, config) need a department token.
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
ENV_TOKEN_NAME = "DATONG_INGEST_TOKENS"
QUERY_TOKEN = "access_token"


@dataclass(frozen=True)
class Principal:
    """The holder of a valid token: an audience (reads) or a department (publishes)."""

    token_id: str
    name: str
    audience: str | None
    department: str | None


@dataclass(frozen=True)
class Reader:
    """An audience's token, as the audit names it."""

    token_id: str
    token_name: str
    audience: str
    purpose: str


@dataclass(frozen=True)
class ReadScope:
    """What one request may read: the reader, its grant (narrowed to ``?fields=``), and the
    communities asked for (None: every community the grant covers)."""

    reader: Reader
    grant: Grant
    communities: frozenset[str] | None

    def allows(self, community_code: str | None) -> bool:
        """Whether a row of ``community_code`` belongs in this read (e.g. a streamed change)."""
        if self.communities is None:
            return allows_community(self.grant, community_code)
        return community_code in self.communities

    def filter(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """A rendered record (``json_record``) as this reader gets it; None when its
        ``community_code`` is outside the read. For records whose community is their
        ``community_code`` field (every view's); stored rows use ``allows`` on the column."""
        if not self.allows(record.get("community_code")):
            return None
        return filter_record(self.grant, record)

    def audit_entry(
        self,
        *,
        operation: str,
        key: str | None,
        query: dict[str, Any],
        rows: int,
        status: int = 200,
    ) -> ReadEntry:
        """The audit record of one read through this scope."""
        return ReadEntry(
            token_id=self.reader.token_id,
            token_name=self.reader.token_name,
            audience=self.reader.audience,
            purpose=self.reader.purpose,
            view=self.grant.view,
            operation=operation,
            key=key,
            query=query,
            rows=rows,
            status=status,
        )


class Authenticator:
    """Turns a bearer secret into a Principal: database tokens and ``DATONG_INGEST_TOKENS``."""

    def __init__(self, engine: sa.Engine, ingest_tokens: Mapping[str, str]) -> None:
        self._engine = engine
        self._env = {d: bytes.fromhex(h) for d, h in ingest_tokens.items()}

    def identify(self, secret: str) -> Principal | None:
        """The live token's holder, or None (blocking: reads the token table)."""
        digest = bytes.fromhex(secret_digest(secret))
        # Compare with every configured hash, so the time taken says nothing about which.
        env = [d for d, h in self._env.items() if hmac.compare_digest(digest, h)]
        if env:
            return Principal(f"env:{env[0]}", ENV_TOKEN_NAME, None, env[0])
        token = find_token(self._engine, secret)
        if token is None:
            return None
        return Principal(token.id, token.name, token.audience, token.department)

    async def still_live(self, principal: Principal) -> bool:
        """Whether the principal's token still holds (a long-lived stream re-checks it)."""
        if principal.token_id.startswith("env:"):
            return principal.department in self._env
        return await asyncio.to_thread(token_live, self._engine, principal.token_id)

    async def principal(self, request: Request, allow_query: bool = False) -> Principal:
        """The caller of ``request`` (remembered on it); 401 without a valid bearer token.

        ``allow_query`` also takes the token from ``?access_token=`` (RFC 6750), for the
        routes a browser's EventSource calls, which cannot send headers.
        """
        known = getattr(request.state, "principal", None)
        if isinstance(known, Principal):
            return known
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" and allow_query:
            scheme, secret = "bearer", request.query_params.get(QUERY_TOKEN, "")
        if scheme.lower() != "bearer" or not secret.strip():
            raise unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        found = await asyncio.to_thread(self.identify, secret.strip())
        if found is None:
            raise unauthorized("the bearer token is not valid (unknown or revoked)")
        request.state.principal = found
        return found


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
                    inner.app = _Guard(
                        inner.app,
                        authenticator,
                        open_methods=open_methods,
                        departments_only=registry,
                    )
        elif isinstance(route, Route | Mount):
            allow_query = route.path in query_token_paths
            route.app = _Guard(route.app, authenticator, allow_query=allow_query)
    return routes


def route_path(route: BaseRoute) -> str | None:
    """The path template of a route or mount."""
    return route.path if isinstance(route, Route | Mount) else None


class _Guard:
    """ASGI wrapper: no valid token, no entry (401), but for ``open_methods``; with
    ``departments_only`` (the registry's writes) an audience's token gets 403."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        *,
        open_methods: frozenset[str] = frozenset(),
        departments_only: bool = False,
        allow_query: bool = False,
    ) -> None:
        self.app, self.authenticator = app, authenticator
        self.open_methods, self.departments_only = open_methods, departments_only
        self.allow_query = allow_query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method not in self.open_methods:
            principal = await self.authenticator.principal(request, self.allow_query)
            if self.departments_only and principal.department is None:
                raise ApiError(403, "changing the schema registry needs a department token")
        await self.app(scope, receive, send)


class ReadAccess:
    """The policy applied to a request: the only way a read path learns what it may return."""

    def __init__(self, policy: Policy, authenticator: Authenticator, views: Collection[str]):
        self.policy = policy
        self.views = views  # the views there are to read (those json_record renders)
        self._authenticator = authenticator

    def refusal_entry(
        self, request: Request, view: str, *, status: int, operation: str, query: dict[str, Any]
    ) -> ReadEntry | None:
        """The audit record of a refused read of a known view by a known token, else None.

        Path segments the client made up (an unknown view, a key that matched nothing) are
        not stored: they could hold anything, an ID number included.
        """
        principal = getattr(request.state, "principal", None)
        if not isinstance(principal, Principal) or view not in self.views:
            return None
        grant = self.policy.grant(principal.audience or "", view)
        return ReadEntry(
            token_id=principal.token_id,
            token_name=principal.name,
            audience=principal.audience or f"department:{principal.department}",
            purpose=grant.purpose if grant else "",
            view=view,
            operation=operation,
            key=None,
            query=query,
            rows=0,
            status=status,
        )

    async def authorize(
        self,
        request: Request,
        view: str,
        *,
        community: str | None = None,
        fields: str | None = None,
    ) -> ReadScope:
        """The scope of one read of ``view``, or the refusal to answer with.

        ``community``: one community code asked for (None: every one the grant covers).
        ``fields``: the ``?fields=a,b`` parameter (None: every granted field); the view's
        key field is always kept, ``provenance`` only when asked for.
        """
        principal = await self._authenticator.principal(request)
        if view not in self.views:
            views = ", ".join(self.views)
            raise ApiError(404, f"no view named {view!r}; views: {views}", view=view)
        if principal.audience is None:
            raise ApiError(
                403,
                f"the token of department {principal.department} publishes events; reading "
                "views needs an audience token",
            )
        grant = self.policy.grant(principal.audience, view)
        if grant is None:
            raise ApiError(
                403, f"audience {principal.audience} may not read view {view}", view=view
            )
        reader = Reader(principal.token_id, principal.name, grant.audience, grant.purpose)
        communities = grant.communities
        if community is not None:
            if grant.communities is not None and community not in grant.communities:
                raise ApiError(
                    403,
                    f"audience {grant.audience} may not read community {community!r}",
                    community=community,
                )
            communities = frozenset({community})
        if fields is not None:
            grant = self._narrowed(grant, fields)
        return ReadScope(reader, grant, communities)

    def _narrowed(self, grant: Grant, fields: str) -> Grant:
        wanted = [f.strip() for f in fields.split(",")]
        if not all(wanted):
            raise ApiError(400, "fields must be a comma-separated list of field names")
        contract = self.policy.views[grant.view]
        for name in wanted:
            if name not in contract.classes:
                known = ", ".join(contract.classes)
                message = f"view {grant.view} has no field {name!r}; fields: {known}"
                raise ApiError(400, message, field=name)
        try:
            return grant.narrowed(dict.fromkeys([contract.key_field, *wanted]))
        except FieldNotGranted as exc:
            raise ApiError(403, str(exc), field=exc.field) from None


def ingest_authorizer(
    authenticator: Authenticator,
) -> Callable[[Request, str], Awaitable[tuple[int, str] | None]]:
    """The intake's check: a live department token (database or ``DATONG_INGEST_TOKENS``) of
    the department whose events are posted; revocations take effect at once. Returns None,
    or the refusal as (status, reason)."""

    async def authorize(request: Request, department: str) -> tuple[int, str] | None:
        try:
            principal = await authenticator.principal(request)
        except HTTPException as exc:
            return exc.status_code, str(exc.detail)
        if principal.department is None:
            return 403, (
                f"the token of audience {principal.audience} reads views; publishing needs "
                "a department token"
            )
        if principal.department != department:
            return 403, f"this token may publish only {principal.department}'s events"
        return None

    return authorize
