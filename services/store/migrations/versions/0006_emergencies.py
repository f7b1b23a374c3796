"""emergencies (break-glass access) and the read audit's emergency flag

Revision ID: 0005
Revises: 0004

``emergency`` holds each declared emergency. A read made under one carries its id in
``read_audit.emergency_id`` and what only the emergency gave it (fields, communities) in
``emergency_scope``; both are hashed into the chain when set, so records from before this
revision keep their hashes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emergency",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("declared_by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("openings", sa.JSON(), nullable=False),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=128), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_emergency_expires_at", "emergency", ["expires_at"], unique=False)
    with op.batch_alter_table("read_audit") as table:
        table.add_column(sa.Column("emergency_id", sa.String(length=32), nullable=True))
        table.add_column(sa.Column("emergency_scope", sa.JSON(), nullable=True))
    op.create_index("ix_read_audit_emergency", "read_audit", ["emergency_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_read_audit_emergency", table_name="read_audit")
    with op.batch_alter_table("read_audit") as table:
        table.drop_column("emergency_scope")
        table.drop_column("emergency_id")
    op.drop_index("ix_emergency_expires_at", table_name="emergency")
    op.drop_table("emergency")
