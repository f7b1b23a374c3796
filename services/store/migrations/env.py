"""Alembic environment: runs on the connection ``History.config`` hands over (no URL of its own)."""

from __future__ import annotations

from alembic import context

from services.store import (  # noqa: F401 - their tables on Base
    access_models,
    emergency_models,
    quality_tables,
    registry_tables,
    sharing_models,
)
from services.store.models import Base

attributes = context.config.attributes
context.configure(
    connection=attributes["connection"],
    target_metadata=Base.metadata,
    version_table=attributes["version_table"],
)
with context.begin_transaction():
    context.run_migrations()
