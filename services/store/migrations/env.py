"""Alembic environment: runs on the connection ``migrate()`` hands over (no URL of its own)."""

from __future__ import annotations

from alembic import context

from schemas.registry import metadata as registry_metadata
from services.store import access_models  # noqa: F401 - registers its tables on Base
from services.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=[Base.metadata, registry_metadata])
with context.begin_transaction():
    context.run_migrations()
