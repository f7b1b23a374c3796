"""the gazetteer and the resolution queue, moved out of the view store

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address_queue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("position", sa.String(length=255), nullable=False),
        sa.Column("field", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department", "source", "position", name="uq_address_queue_record"),
    )
    op.create_table(
        "gazetteer_dwelling",
        sa.Column("dwelling_id", sa.String(length=128), nullable=False),
        sa.Column("community_code", sa.String(length=64), nullable=False),
        sa.Column("building", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("room", sa.String(length=32), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("event_time_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dwelling_id"),
    )
    op.create_index(
        "ix_gazetteer_dwelling_building_room",
        "gazetteer_dwelling",
        ["building", "room"],
        unique=False,
    )
    op.create_index(
        "ix_gazetteer_dwelling_community_code",
        "gazetteer_dwelling",
        ["community_code"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_gazetteer_dwelling_community_code", table_name="gazetteer_dwelling")
    op.drop_index("ix_gazetteer_dwelling_building_room", table_name="gazetteer_dwelling")
    op.drop_table("gazetteer_dwelling")
    op.drop_table("address_queue")
