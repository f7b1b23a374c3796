"""Alembic environment: runs on the connection ``migrate()`` hands over (no URL of its own)."""

from __future__ import annotations

from alembic import context

from services.store import access_models, registry_tables  # noqa: F401 - their tables on Base
from services.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
