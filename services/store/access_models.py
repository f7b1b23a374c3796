"""Tables of who may use the API (tokens) and what was read through it (the read audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.store.models import Base


class AccessToken(Base):
    """A bearer token of an audience (reads views) or of a department (publishes events).

    Only the SHA-256 of the secret is kept; the secret is shown once, when it is made.
    """

    __tablename__ = "access_token"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    audience: Mapped[str | None] = mapped_column(sa.String(64))
    department: Mapped[str | None] = mapped_column(sa.String(64))
    secret_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class ReadAudit(Base):
    """One read through the API: who, under which audience and purpose, what, how many rows."""

    __tablename__ = "read_audit"
    __table_args__ = (sa.Index("ix_read_audit_at", "at"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    token_id: Mapped[str] = mapped_column(sa.String(32))
    token_name: Mapped[str] = mapped_column(sa.String(128))
    audience: Mapped[str] = mapped_column(sa.String(64))
    purpose: Mapped[str] = mapped_column(sa.Text)
    view: Mapped[str] = mapped_column(sa.String(64))
    operation: Mapped[str] = mapped_column(sa.String(16))  # row, list, export, subscribe
    key: Mapped[str | None] = mapped_column(sa.String(128))
    query: Mapped[dict[str, Any]]  # the filter: community, fields, limit, cursor
    rows: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[int] = mapped_column(sa.Integer)
