"""The table of declared emergencies (break-glass access, ``services/access/emergency.py``).

Not derived data: like tokens and the audit it is backed up, never rebuilt. Every
declaration, renewal and end is also a record in the read audit's hash chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.store.models import Base


class EmergencyRow(Base):
    """One emergency: who declared it, why, what it opens to whom, and until when."""

    __tablename__ = "emergency"
    __table_args__ = (sa.Index("ix_emergency_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    declared_by: Mapped[str] = mapped_column(sa.String(128))
    reason: Mapped[str] = mapped_column(sa.Text)  # the latest: a renewal gives a new one
    opened_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    openings: Mapped[dict[str, Any]]  # audience -> {communities, views} (``Opening.as_json``)
    renewals: Mapped[int] = mapped_column(sa.Integer, default=0)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    ended_by: Mapped[str | None] = mapped_column(sa.String(128))
    end_reason: Mapped[str | None] = mapped_column(sa.Text)
