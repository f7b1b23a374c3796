"""the view store, outbox, conflicts, snapshots and registry

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
        "merge_conflict",
        sa.Column("view", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("event_time_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("view", "key", "field", "event_id"),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published", "id"], unique=False)
    op.create_table(
        "situation_snapshot",
        sa.Column("community_code", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("community_code", "taken_at"),
    )
    op.create_table(
        "view_row",
        sa.Column("view", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("community_code", sa.String(length=64), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("view", "key"),
    )
    op.create_index(
        "ix_view_row_community", "view_row", ["view", "community_code", "key"], unique=False
    )
    op.create_table(
        "registry_config",
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("compatibility", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("subject"),
    )
    op.create_table(
        "registry_schema",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("schema_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    op.create_table(
        "registry_subject_version",
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema_id", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schema_id"],
            ["registry_schema.id"],
        ),
        sa.PrimaryKeyConstraint("subject", "version"),
    )


def downgrade() -> None:
    op.drop_table("registry_subject_version")
    op.drop_table("registry_schema")
    op.drop_table("registry_config")
    op.drop_index("ix_view_row_community", table_name="view_row")
    op.drop_table("view_row")
    op.drop_table("situation_snapshot")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("merge_conflict")
