"""the public release

Revision ID: 0005
Revises: 0004

Each community's release to residents (``/public/{community}``), one row per release
instant, kept as published so that a release never changes and the next one is checked
against it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_release",
        sa.Column("community_code", sa.String(length=64), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("community_code", "released_at"),
    )


def downgrade() -> None:
    op.drop_table("public_release")
