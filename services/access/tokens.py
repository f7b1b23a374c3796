"""Bearer tokens: made, listed and revoked by the operator, checked on every API request.

A token belongs either to an audience (it reads views under that audience's policy) or to
a department (it publishes that department's events through ``POST /ingest``). The secret
is ``datong_`` plus 256 random bits, shown once; the store keeps only its SHA-256, so a
copy of the database does not hand out working tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.errors import DatongError
from services.store.access_models import AccessToken

SECRET_PREFIX = "datong_"
# The PostgreSQL channel a revocation is announced on (the API's token cache listens).
REVOKED_CHANNEL = "datong_token_revoked"


class TokenError(DatongError):
    """A token command cannot be done (unknown id, neither or both of audience/department)."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never its secret."""

    id: str
    name: str
    audience: str | None
    department: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        """True once revoked: the token no longer authenticates anything."""
        return self.revoked_at is not None


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: its secret is here and nowhere else."""

    info: TokenInfo
    secret: str


def secret_digest(secret: str) -> str:
    """The stored form of a secret: lowercase hex SHA-256 (as in ``DATONG_INGEST_TOKENS``)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    engine: sa.Engine,
    *,
    audience: str | None = None,
    department: str | None = None,
    name: str | None = None,
) -> IssuedToken:
    """Make a token for exactly one of ``audience`` or ``department``; the caller checks the name
    exists (the policy's audiences, the catalog's departments)."""
    if (audience is None) == (department is None):
        raise TokenError("a token is for exactly one audience (reads) or one department (ingest)")
    token_id = secrets.token_hex(6)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = AccessToken(
        id=token_id,
        name=name or f"{audience or department}-{token_id}",
        audience=audience,
        department=department,
        secret_sha256=secret_digest(secret),
        created_at=datetime.now(UTC),
        revoked_at=None,
    )
    with Session(engine) as session, session.begin():
        session.add(row)
        info = _info(row)
    return IssuedToken(info, secret)


def list_tokens(engine: sa.Engine) -> list[TokenInfo]:
    """Every token, revoked ones included, oldest first."""
    with Session(engine) as session:
        query = sa.select(AccessToken).order_by(AccessToken.created_at, AccessToken.id)
        return [_info(row) for row in session.scalars(query)]


def revoke_token(engine: sa.Engine, token_id: str) -> TokenInfo:
    """Revoke a token by id (at once, for every API process); revoking twice changes nothing."""
    with Session(engine) as session, session.begin():
        row = session.get(AccessToken, token_id)
        if row is None:
            raise TokenError(f"no token with id {token_id!r}; see `datong tokens list`")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            if session.get_bind().dialect.name == "postgresql":
                # Every API process listening evicts the token as this commits.
                session.execute(sa.select(sa.func.pg_notify(REVOKED_CHANNEL, token_id)))
        return _info(row)


def revoked_count(engine: sa.Engine) -> int:
    """How many tokens were ever revoked: a counter an API process on a store without
    notifications (SQLite) compares to notice a revocation."""
    query = sa.select(sa.func.count()).where(AccessToken.revoked_at.is_not(None))
    with engine.connect() as conn:
        return int(conn.scalar(query) or 0)


def find_token(engine: sa.Engine, secret: str) -> TokenInfo | None:
    """The live (not revoked) token whose secret this is, or None."""
    with Session(engine) as session:
        query = sa.select(AccessToken).where(AccessToken.secret_sha256 == secret_digest(secret))
        row = session.scalars(query).one_or_none()
        return None if row is None or row.revoked_at is not None else _info(row)


def live_tokens(engine: sa.Engine, token_ids: Iterable[str]) -> set[str]:
    """Which of ``token_ids`` exist and are not revoked, in one query."""
    wanted = sorted(set(token_ids))
    if not wanted:
        return set()
    query = sa.select(AccessToken.id).where(
        AccessToken.id.in_(wanted), AccessToken.revoked_at.is_(None)
    )
    with engine.connect() as conn:
        return set(conn.scalars(query))


def _info(row: AccessToken) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.audience, row.department, row.created_at, row.revoked_at)
