"""Tokens for tests that read the views through a running hub's API."""

from __future__ import annotations

from services.access.tokens import create_token
from services.store.database import create_engine, create_schema

# Reads resident_profile in every community with masked names and health status.
READER = "health-department"


def reader_headers(database_url: str, audience: str = READER) -> dict[str, str]:
    """An ``Authorization`` header with a new token of ``audience`` in the hub's database."""
    engine = create_engine(database_url)
    try:
        create_schema(engine)
        secret = create_token(engine, audience=audience, name="test reader").secret
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {secret}"}
