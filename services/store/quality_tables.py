"""Tables of the feed quality scorecards: each department's daily tallies, and how far the
quality consumer has counted each partition (written in the same transaction, so a batch
is counted exactly once)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.store.models import JSON, Base


class FeedQualityDay(Base):
    """One department's feed on one China-time day (``services.quality.tally.DayTally``)."""

    __tablename__ = "feed_quality_day"

    department: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    tally: Mapped[dict[str, Any]] = mapped_column(JSON)


class FeedQualityOffset(Base):
    """The next offset the quality consumer counts on a partition of a topic it reads."""

    __tablename__ = "feed_quality_offset"

    topic: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    partition: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(sa.BigInteger)
