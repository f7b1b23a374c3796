"""The public release's reads and writes: what a release is made from, and releases kept.

A release is made from the household and community_situation views (never from source
topics) and kept in ``public_release`` as published. The caller owns the session.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.store.models import PublicRelease, ViewRow

HOUSEHOLD_VIEW = "household"
SITUATION_VIEW = "community_situation"


def households(session: Session, community: str) -> list[tuple[str | None, bool, int]]:
    """(building, quarantined, open deliveries) of every shown household of a community."""
    data = ViewRow.data
    query = sa.select(
        data["building"].as_string(),
        data["quarantined"].as_boolean(),
        data["open_delivery_count"].as_integer(),
    ).where(
        ViewRow.view == HOUSEHOLD_VIEW,
        ViewRow.community_code == community,
        ViewRow.visible.is_(True),
    )
    return [(b, bool(q), int(n or 0)) for b, q, n in session.execute(query)]


def situation(session: Session, community: str) -> dict[str, Any] | None:
    """The community_situation record of a community, if it is shown."""
    row = session.get(ViewRow, (SITUATION_VIEW, community))
    return row.data if row is not None and row.visible else None


def releases(session: Session, community: str, limit: int) -> list[PublicRelease]:
    """Up to ``limit`` releases of a community, newest first."""
    query = (
        sa.select(PublicRelease)
        .where(PublicRelease.community_code == community)
        .order_by(PublicRelease.released_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def keep_release(
    engine: sa.Engine, community: str, at: datetime, body: dict[str, Any], since: datetime
) -> None:
    """Keep a release unless another process kept one for the same instant first (theirs
    stands: a release never changes once made), and forget the community's releases from
    before ``since`` (one per release instant: the table's bound)."""
    try:
        with Session(engine) as session, session.begin():
            session.add(PublicRelease(community_code=community, released_at=at, body=body))
            session.execute(
                sa.delete(PublicRelease).where(
                    PublicRelease.community_code == community, PublicRelease.released_at < since
                )
            )
    except IntegrityError:
        pass  # the same (community, instant) was kept by a concurrent request: read it


def released_at(release: PublicRelease) -> datetime:
    """When a kept release was made (SQLite hands timestamps back without their zone)."""
    at = release.released_at
    return at if at.tzinfo else at.replace(tzinfo=UTC)
