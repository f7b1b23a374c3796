"""Alembic environment: runs on the connection ``History.config`` hands over (no URL of its own)."""

from __future__ import annotations

from alembic import context

from services.store import access_models, registry_tables, sharing_models  # noqa: F401 - their tables on Base
from services.store.models import Base

attributes = context.config.attributes
context.configure(
    connection=attributes["connection"],
    target_metadata=Base.metadata,
    version_table=attributes["version_table"],
)
with context.begin_transaction():
    context.run_migrations()
