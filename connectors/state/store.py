"""Opening the connectors' state store, migrated to the newest revision of its own history."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from schemas.sql_stores import History, create_engine, migrate

# Its own version table (and lock), so the store could share a database with the view
# store's history without either seeing the other's revisions.
HISTORY = History(
    Path(__file__).parent / "migrations",
    lock_key=0x636F6E6E6563,  # "connec": any constant the view store does not use
    version_table="connector_state_version",
)


def open_state_store(url: str) -> sa.Engine:
    """An engine on the connectors' state store at ``url``, its tables created or upgraded.

    Connectors of several departments may open a fresh store at once: they take turns.
    """
    engine = create_engine(url)
    migrate(engine, HISTORY)
    return engine
