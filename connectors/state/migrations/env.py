"""Alembic environment: runs on the connection ``History.config`` hands over (no URL of its own)."""

from __future__ import annotations

from alembic import context

from connectors.state.tables import metadata

attributes = context.config.attributes
context.configure(
    connection=attributes["connection"],
    target_metadata=metadata,
    version_table=attributes["version_table"],
)
with context.begin_transaction():
    context.run_migrations()
