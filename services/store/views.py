"""Reads of the view store for the API, the CLI and the worker's metrics; the caller owns
the session.

The merge worker writes through ``merge_store.py`` instead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.models import MergeConflict, SituationSnapshot, ViewRow


def visible_row(session: Session, view: str, key: str) -> ViewRow | None:
    """The row of ``view`` at ``key`` if the view shows it."""
    stored = session.get(ViewRow, (view, key))
    return stored if stored is not None and stored.visible else None


@dataclass(frozen=True)
class ShownRow:
    """What a reader's record is rendered from: the row's community, fields and provenance."""

    key: str
    community_code: str | None
    data: dict[str, Any]
    provenance: dict[str, Any]


def shown_row(connection: sa.Connection, view: str, key: str) -> ShownRow | None:
    """The visible row of ``view`` at ``key``, by one core SELECT of only what a record is
    rendered from (no ORM state, not the merge state): the API's hot path."""
    query = sa.select(
        ViewRow.visible, ViewRow.community_code, ViewRow.data, ViewRow.provenance
    ).where(ViewRow.view == view, ViewRow.key == key)
    found = connection.execute(query).first()
    if found is None or not found.visible:
        return None
    return ShownRow(key, found.community_code, found.data, found.provenance)


def conflicts_for(session: Session, view: str, key: str) -> list[MergeConflict]:
    """Conflicts recorded against a row."""
    query = sa.select(MergeConflict).where(MergeConflict.view == view, MergeConflict.key == key)
    return list(session.scalars(query))


def visible_page(
    session: Session,
    view: str,
    communities: Collection[str] | None,
    after: tuple[str | None, str] | None,
    limit: int,
    *,
    alert_types: Collection[str] | None = None,
) -> list[ViewRow]:
    """Up to ``limit`` visible rows of ``view`` in (community_code, key) order, after ``after``.

    ``communities`` None means every row: those of every community first, then the rows
    without a community (each part walks ix_view_row_community in order). ``after`` is the
    (community_code, key) of the last row of the previous page. ``alert_types``: only rows
    whose record has one of them (the types a reader is granted), so a page is full.
    """
    base = sa.select(ViewRow).where(ViewRow.view == view, ViewRow.visible.is_(True))
    if alert_types is not None:
        kind = ViewRow.data["alert_type"].as_string()
        base = base.where(kind.in_(sorted(alert_types)))
    rows: list[ViewRow] = []
    after_community, after_key = after if after is not None else (None, None)
    if after is None or after_community is not None:
        known = base.where(ViewRow.community_code.is_not(None))
        if communities is not None:
            known = known.where(ViewRow.community_code.in_(sorted(communities)))
        if after_community is not None and after_key is not None:
            known = known.where(
                sa.tuple_(ViewRow.community_code, ViewRow.key)
                > sa.tuple_(sa.literal(after_community), sa.literal(after_key))
            )
        query = known.order_by(ViewRow.community_code, ViewRow.key).limit(limit)
        rows.extend(session.scalars(query))
    if communities is None and len(rows) < limit:
        unknown = base.where(ViewRow.community_code.is_(None))
        if after_community is None and after_key is not None:
            unknown = unknown.where(ViewRow.key > after_key)
        query = unknown.order_by(ViewRow.key).limit(limit - len(rows))
        rows.extend(session.scalars(query))
    return rows


def snapshots(session: Session, community: str, since: datetime) -> list[SituationSnapshot]:
    """A community's hourly situations since ``since``, oldest first."""
    query = (
        sa.select(SituationSnapshot)
        .where(SituationSnapshot.community_code == community, SituationSnapshot.taken_at >= since)
        .order_by(SituationSnapshot.taken_at)
    )
    return list(session.scalars(query))


def visible_records(session: Session, view: str) -> list[dict[str, Any]]:
    """The record of every visible row of ``view``: for small views only (one per community)."""
    query = sa.select(ViewRow.data).where(ViewRow.view == view, ViewRow.visible.is_(True))
    return list(session.scalars(query))


# The community situation's per-department newest event time (epoch ms), folded by the
# worker from every resident's and household's rows.
FRESHNESS_FIELD = "department_freshness"
COMMUNITY_SITUATION_VIEW = "community_situation"


def newest_by_department(records: Iterable[Mapping[str, object]]) -> dict[str, int]:
    """Per department, the newest event time (epoch ms) over community situation records."""
    found: dict[str, int] = {}
    for record in records:
        fresh = record.get(FRESHNESS_FIELD)
        if not isinstance(fresh, Mapping):
            continue
        for department, millis in fresh.items():
            if millis is not None and int(millis) > found.get(str(department), -1):
                found[str(department)] = int(millis)
    return found


def newest_events(session: Session) -> dict[str, int]:
    """Per department, the newest event time the hub has merged (epoch ms), from the store."""
    return newest_by_department(visible_records(session, COMMUNITY_SITUATION_VIEW))
