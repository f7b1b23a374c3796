"""Alembic migrations of the view store (views, outbox, conflicts, snapshots, registry)."""
