"""Tables of the view store (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the view store."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: sa.JSON}


class ViewRow(Base):
    """One row of one view: the record readers get (shown only while ``visible``), and the
    merge state it is rendered from.

    ``data`` and ``provenance`` are the view record's fields and their sources; ``state``
    is the merge state (values and per-field versions, derived entries, counts), never
    served. A hidden row keeps its per-field versions (and no personal data: an erasure
    clears every value) so that an older event arriving late cannot bring it back.
    """

    __tablename__ = "view_row"
    __table_args__ = (sa.Index("ix_view_row_community", "view", "community_code", "key"),)

    view: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    community_code: Mapped[str | None] = mapped_column(sa.String(64))
    visible: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    data: Mapped[dict[str, Any]]
    provenance: Mapped[dict[str, Any]]
    state: Mapped[dict[str, Any]]


class SituationSnapshot(Base):
    """The community situation as it stood at the end of each hour, for the dashboard's history."""

    __tablename__ = "situation_snapshot"

    community_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), primary_key=True)
    data: Mapped[dict[str, Any]]


class Outbox(Base):
    """View changes committed with the rows, waiting to be published on ``view.*`` topics."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_unpublished", "published", "id"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    topic: Mapped[str] = mapped_column(sa.String(255))
    key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    value: Mapped[bytes | None] = mapped_column(sa.LargeBinary)  # None is a tombstone
    headers: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    published: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class MergeConflict(Base):
    """A department wrote a field it does not own; kept and countable, never applied."""

    __tablename__ = "merge_conflict"

    view: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    field: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(64))
    department: Mapped[str] = mapped_column(sa.String(64))
    event_time_ms: Mapped[int] = mapped_column(sa.BigInteger)
