"""Alembic migrations of the connectors' state store (gazetteer, resolution queue)."""
