"""the merge path: JSONB rows with a version, a bounded outbox, community deltas

Revision ID: 0003
Revises: 0002

Rows carry the version of the batch that last wrote them, so a publisher can tell that a
change it sent was overtaken by a newer one. Published outbox rows are deleted instead of
flagged. Community aggregates are folded from the deltas merge batches leave in
``community_delta``, off the merge transaction. On PostgreSQL the JSON columns become
JSONB and versions come from a sequence; SQLite counts them in ``merge_clock`` (which
PostgreSQL has too, unused, so that both stores have the models' tables).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("view_row") as table:
        table.add_column(sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute("DELETE FROM outbox WHERE published")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    with op.batch_alter_table("outbox") as table:
        table.drop_column("published")
        table.add_column(sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "community_delta",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("community_code", sa.String(length=64), nullable=False),
        sa.Column("delta", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_community_delta_community", "community_delta", ["community_code", "id"])
    if postgres:
        for column in ("data", "provenance", "state"):
            op.execute(
                f"ALTER TABLE view_row ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb"
            )
        op.execute("ALTER TABLE outbox ALTER COLUMN headers TYPE jsonb USING headers::jsonb")
        op.execute("CREATE SEQUENCE view_version")
    op.create_table(
        "merge_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO merge_clock (id, value) VALUES (1, 0)")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP SEQUENCE view_version")
        for column in ("data", "provenance", "state"):
            op.execute(f"ALTER TABLE view_row ALTER COLUMN {column} TYPE json USING {column}::json")
        op.execute("ALTER TABLE outbox ALTER COLUMN headers TYPE json USING headers::json")
    op.drop_table("merge_clock")
    op.drop_index("ix_community_delta_community", table_name="community_delta")
    op.drop_table("community_delta")
    with op.batch_alter_table("outbox") as table:
        table.drop_column("version")
        table.add_column(sa.Column("published", sa.Boolean(), nullable=False, server_default="0"))
    op.create_index("ix_outbox_unpublished", "outbox", ["published", "id"], unique=False)
    with op.batch_alter_table("view_row") as table:
        table.drop_column("version")
