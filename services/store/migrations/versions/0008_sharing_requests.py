"""sharing requests and the grants they make

Revision ID: 0005
Revises: 0004

A sharing request (its state, dates and a document holding its answers and history) and
each field it granted, layered over the base policy on every read until it expires or is
revoked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "sharing_request",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requester", sa.String(length=80), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("view", sa.String(length=64), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sharing_request_state", "sharing_request", ["state"])
    op.create_table(
        "sharing_grant",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("view", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("communities", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["sharing_request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "field"),
    )


def downgrade() -> None:
    op.drop_table("sharing_grant")
    op.drop_index("ix_sharing_request_state", table_name="sharing_request")
    op.drop_table("sharing_request")
