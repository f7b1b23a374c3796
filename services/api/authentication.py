"""Who is calling: a bearer token's secret -> the ``Principal`` holding it.

Tokens are the database's (``datong tokens``: an audience reads views, a department
publishes events) and ``DATONG_INGEST_TOKENS`` (department -> SHA-256 of its secret, for
intake without a database token). A revoked or unknown token names nobody. Which routes
need a token is the route guard's business (``route_guard.py``); what a principal may
read, read authorisation's (``read_access.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg
import sqlalchemy as sa
from starlette.requests import Request

from services.access.tokens import find_token, live_tokens, revoked_count, secret_digest
from services.api.errors import unauthorized
from services.api.token_cache import RevocationListener, TokenCache
from services.api.token_liveness import TokenLiveness
from services.store.database import once_more_if_dead

ENV_TOKEN_NAME = "DATONG_INGEST_TOKENS"
QUERY_TOKEN = "access_token"


@dataclass(frozen=True)
class Principal:
    """The holder of a valid token: an audience (reads) or a department (publishes)."""

    token_id: str
    name: str
    audience: str | None
    department: str | None


class Authenticator:
    """Turns a bearer secret into a Principal: database tokens and ``DATONG_INGEST_TOKENS``.

    Live database tokens are kept in the process (``token_cache.py``): a read pays no trip
    to the store for its token, and a revocation reaches the cache at once (PostgreSQL's
    notifications, while ``listening``) or within ``revocation_check_s`` (SQLite's count).
    """

    def __init__(
        self,
        engine: sa.Engine,
        ingest_tokens: Mapping[str, str],
        revocation_check_s: float = 1.0,
    ) -> None:
        self._engine = engine
        self._env = {d: bytes.fromhex(h) for d, h in ingest_tokens.items()}
        self._liveness = TokenLiveness(lambda ids: live_tokens(engine, ids))
        notified = engine.dialect.name == "postgresql"
        self._cache: TokenCache[Principal] = TokenCache(
            None if notified else (lambda: revoked_count(engine)), revocation_check_s
        )
        self._listener = RevocationListener(self._cache, partial(listen_connection, engine))
        self._notified = notified

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """Listen for revocations while the API serves (PostgreSQL; nothing on SQLite)."""
        if not self._notified:
            yield
            return
        self._listener.start()
        try:
            yield
        finally:
            await asyncio.to_thread(self._listener.stop)

    def identify(self, secret: str) -> Principal | None:
        """The live token's holder, or None (blocking: reads the token table)."""
        digest = bytes.fromhex(secret_digest(secret))
        # Compare with every configured hash, so the time taken says nothing about which.
        env = [d for d, h in self._env.items() if hmac.compare_digest(digest, h)]
        if env:
            return Principal(f"env:{env[0]}", ENV_TOKEN_NAME, None, env[0])
        token = once_more_if_dead(lambda: find_token(self._engine, secret))
        if token is None:
            return None
        return Principal(token.id, token.name, token.audience, token.department)

    async def still_live(self, principal: Principal) -> bool:
        """Whether the principal's token still holds (a long-lived stream re-checks it)."""
        if principal.token_id.startswith("env:"):
            return principal.department in self._env
        live = await self._liveness.holds(principal.token_id)
        if not live:  # its stream ends: its next request must be refused too
            self._cache.evict(principal.token_id)
        return live

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
        secret = secret.strip()
        digest = secret_digest(secret)
        found = await self._cache.get(digest)
        if found is None:
            generation = self._cache.generation
            found = await asyncio.to_thread(self.identify, secret)
            if found is not None and not found.token_id.startswith("env:"):
                self._cache.put(digest, found.token_id, found, generation)
        if found is None:
            raise unauthorized("the bearer token is not valid (unknown or revoked)")
        request.state.principal = found
        return found


def listen_connection(engine: sa.Engine) -> Any:
    """A psycopg connection of its own to the engine's database, in autocommit mode."""
    url = engine.url.set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
