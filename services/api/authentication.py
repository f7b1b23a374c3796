"""Who is calling: a bearer token's secret -> the ``Principal`` holding it.

Tokens are the database's (``datong tokens``: an audience reads views, a department
publishes events) and ``DATONG_INGEST_TOKENS`` (department -> SHA-256 of its secret, for
intake without a database token). A revoked or unknown token names nobody. Which routes
need a token is the route guard's business (``route_guard.py``); what a principal may
read, read authorisation's (``read_access.py``).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from starlette.requests import Request

from services.access.tokens import find_token, live_tokens, secret_digest
from services.api.errors import unauthorized
from services.api.token_liveness import TokenLiveness

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
    """Turns a bearer secret into a Principal: database tokens and ``DATONG_INGEST_TOKENS``."""

    def __init__(self, engine: sa.Engine, ingest_tokens: Mapping[str, str]) -> None:
        self._engine = engine
        self._env = {d: bytes.fromhex(h) for d, h in ingest_tokens.items()}
        self._liveness = TokenLiveness(lambda ids: live_tokens(engine, ids))

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
        return await self._liveness.holds(principal.token_id)

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
