"""the read audit as a hash chain

Revision ID: 0004
Revises: 0003

Each read record carries the SHA-256 of the record before it and its own, over its fields
and that hash, so that an edited, deleted or inserted record breaks the chain
(``datong audit verify``). ``audit_chain_tail`` holds the chain's end; updating it first in
every audit transaction serialises appends across API processes. Records from before this
revision keep no hashes; the chain starts after them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("read_audit") as table:
        table.add_column(sa.Column("prev_sha256", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
    tail = op.create_table(
        "audit_chain_tail",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("last_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(tail, [{"name": "read_audit", "sha256": None, "last_id": None}])


def downgrade() -> None:
    op.drop_table("audit_chain_tail")
    with op.batch_alter_table("read_audit") as table:
        table.drop_column("sha256")
        table.drop_column("prev_sha256")
