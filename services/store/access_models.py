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
    __table_args__ = (
        sa.Index("ix_read_audit_at", "at"),
        sa.Index("ix_read_audit_emergency", "emergency_id"),
    )

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
    # The hash chain (``services.access.audit_chain``): the previous record's hash, and this
    # record's hash over its fields and that one. None only on records from before the chain.
    prev_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    # A read made under an emergency (``services/access/emergency.py``): its id, and what
    # only the emergency gave the read ({"fields": [...], "communities": [...] or "*"}).
    # Its declaration, renewals and end carry its id too.
    emergency_id: Mapped[str | None] = mapped_column(sa.String(32))
    emergency_scope: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class AuditChainTail(Base):
    """The end of the read audit's hash chain: the last record's hash and id. Every audit
    transaction updates it first, which serialises appends to the chain across processes."""

    __tablename__ = "audit_chain_tail"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    last_id: Mapped[int | None] = mapped_column(sa.BigInteger)
