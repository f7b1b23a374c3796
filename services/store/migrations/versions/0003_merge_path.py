"""the merge path: JSONB rows with a version, a bounded outbox, community deltas

Revision ID: 0003
Revises: 0002

Rows carry the version of the batch that last wrote them, so a publisher can tell that a
change it sent was overtaken by a newer one. The outbox keeps marks of rows to publish, not
their encoded records, and a mark is deleted once the broker has the row. Community
aggregates are folded from the deltas merge batches leave in
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
    op.create_table(
        "view_outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("view", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # What was committed and not yet published is published again, as it stands now.
    key = "convert_from(key, 'UTF8')" if postgres else "CAST(key AS TEXT)"
    op.execute(
        "INSERT INTO view_outbox (view, key, version, created_at)"
        f" SELECT substr(topic, 6), {key}, 0, created_at FROM outbox WHERE NOT published"
        " ORDER BY id"
    )
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
    op.rename_table("view_outbox", "outbox")
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
    op.drop_table("merge_clock")
    op.drop_index("ix_community_delta_community", table_name="community_delta")
    op.drop_table("community_delta")
    op.drop_table("outbox")  # marks only: the downgraded worker republishes nothing missed
    op.create_table(
        "outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published", "id"], unique=False)
    with op.batch_alter_table("view_row") as table:
        table.drop_column("version")
