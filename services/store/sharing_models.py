"""Tables of sharing requests and the grants they made (layered over the base policy)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.store.models import Base


class SharingRequestRow(Base):
    """One sharing request: its state and dates as columns (to list and count), the whole
    request with its answers and history as a document (``request_documents.py``)."""

    __tablename__ = "sharing_request"
    __table_args__ = (sa.Index("ix_sharing_request_state", "state"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16))
    requester: Mapped[str] = mapped_column(sa.String(80))
    audience: Mapped[str] = mapped_column(sa.String(64))
    view: Mapped[str] = mapped_column(sa.String(64))
    filed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    document: Mapped[dict[str, Any]]


class SharingGrantRow(Base):
    """One field of a view granted to an audience by a request, until it expires or is
    revoked (the request withdrawn)."""

    __tablename__ = "sharing_grant"
    __table_args__ = (sa.UniqueConstraint("request_id", "field"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    request_id: Mapped[str] = mapped_column(sa.String(32), sa.ForeignKey("sharing_request.id"))
    audience: Mapped[str] = mapped_column(sa.String(64))
    view: Mapped[str] = mapped_column(sa.String(64))
    field: Mapped[str] = mapped_column(sa.String(64))
    communities: Mapped[dict[str, Any]]  # {"codes": [...]} or {"codes": null}: every one
    purpose: Mapped[str] = mapped_column(sa.Text)
    granted_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
