"""Tables of the connectors' state store: the gazetteer's dwellings and the parked records."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

dwelling_table = sa.Table(
    "gazetteer_dwelling",
    metadata,
    sa.Column("dwelling_id", sa.String(128), primary_key=True),
    sa.Column("community_code", sa.String(64), nullable=False, index=True),
    sa.Column("building", sa.String(32), nullable=False),
    sa.Column("unit", sa.String(32), nullable=False),  # "" when the building has no units
    sa.Column("room", sa.String(32), nullable=False),
    sa.Column("names", sa.Text, nullable=False),  # JSON list of normalized place names
    sa.Column("event_time_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_gazetteer_dwelling_building_room", "building", "room"),
)

queue_table = sa.Table(
    "address_queue",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("position", sa.String(255), nullable=False),
    sa.Column("field", sa.String(255), nullable=False),
    sa.Column("reason", sa.String(255), nullable=False),
    sa.Column("candidates", sa.Text, nullable=False),  # JSON [[dwelling_id, community_code]]
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.UniqueConstraint("department", "source", "position", name="uq_address_queue_record"),
)
