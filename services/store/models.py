"""Tables of the view store (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL: stored parsed, so the merge writes and reads it without re-parsing.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of the view store."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: sa.JSON}


class ViewRow(Base):
    """One row of one view: the record readers get (shown only while ``visible``), and the
    merge state it is rendered from.

    ``data`` and ``provenance`` are the view record's fields and their sources; ``state``
    is the rest of the merge state (per-field versions the record does not show, derived
    entries, counts: ``services/merge/state.py``), never served. A hidden row keeps its
    per-field versions (and no personal data: an erasure clears every value) so that an
    older event arriving late cannot bring it back. ``version`` is the batch that last
    wrote the row, increasing per row in commit order.
    """

    __tablename__ = "view_row"
    __table_args__ = (sa.Index("ix_view_row_community", "view", "community_code", "key"),)

    view: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    community_code: Mapped[str | None] = mapped_column(sa.String(64))
    visible: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class SituationSnapshot(Base):
    """The community situation as it stood at the end of each hour, for the dashboard's history."""

    __tablename__ = "situation_snapshot"

    community_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), primary_key=True)
    data: Mapped[dict[str, Any]]


class Outbox(Base):
    """Marks of view rows whose change a committed batch has not yet seen acknowledged.

    The worker publishes a batch's changes from memory right after its commit and deletes
    their marks once the broker has them; after a crash, the rows still marked are sent
    again as they stand.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    view: Mapped[str] = mapped_column(sa.String(64))
    key: Mapped[str] = mapped_column(sa.String(128))
    version: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class CommunityDelta(Base):
    """What a merge batch changed of a community, until the community stage folds it in."""

    __tablename__ = "community_delta"
    __table_args__ = (sa.Index("ix_community_delta_community", "community_code", "id"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    community_code: Mapped[str] = mapped_column(sa.String(64))
    delta: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


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


class MergeClock(Base):
    """The last batch version given out, on SQLite (one row; its one writer takes turns).

    PostgreSQL numbers batches with the ``view_version`` sequence instead: a counter row
    every worker updates would make them wait for each other.
    """

    __tablename__ = "merge_clock"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger)


class PublicRelease(Base):
    """A community's public release at a fixed instant, as it was published (k-anonymous
    counts only, and the bounds the next release is checked against). Not derived data: a
    release never changes once made, so a rebuild of the views leaves it alone."""

    __tablename__ = "public_release"
    community_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    released_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
