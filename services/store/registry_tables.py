"""Tables of the embedded schema registry, in the view store (migrated with it by Alembic)."""

from __future__ import annotations

import sqlalchemy as sa

from services.store.models import Base

schema_table = sa.Table(
    "registry_schema",
    Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("schema_text", sa.Text, nullable=False),
)

version_table = sa.Table(
    "registry_subject_version",
    Base.metadata,
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema_id", sa.Integer, sa.ForeignKey("registry_schema.id"), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
)

config_table = sa.Table(
    "registry_config",
    Base.metadata,
    sa.Column("subject", sa.String(255), primary_key=True),  # "" for the global level
    sa.Column("compatibility", sa.String(32), nullable=False),
)
