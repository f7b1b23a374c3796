"""feed quality scorecards

Revision ID: 0005
Revises: 0004

Each department's feed per China-time day (rows published, rejected by reason, parked and
resolved, a lag sketch, the newest event time, optional fields' completeness), and per
partition the next offset the quality consumer counts, written with the tallies in one
transaction. Derived data: both can be dropped and counted again from the topics.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "feed_quality_day",
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tally", JSON, nullable=False),
        sa.PrimaryKeyConstraint("department", "day"),
    )
    op.create_table(
        "feed_quality_offset",
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", "partition"),
    )


def downgrade() -> None:
    op.drop_table("feed_quality_offset")
    op.drop_table("feed_quality_day")
