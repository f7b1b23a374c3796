"""The view store's Alembic history: every hub process upgrades the view store on start."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from schemas.sql_stores import History
from services.errors import ConfigError

# Any constant works: it only has to be the same in every datong process.
HISTORY = History(Path(__file__).parent / "migrations", lock_key=0x6461746F6E67)


def upgrade(connection: sa.Connection) -> None:
    """Bring the view store to the newest revision, in the caller's transaction."""
    if HISTORY.current(connection) is None and sa.inspect(connection).has_table("view_row"):
        raise ConfigError(
            "the view store predates schema migrations (it has tables but no alembic_version): "
            "rebuild it from the topics — remove the SQLite file or drop the tables"
        )
    HISTORY.upgrade(connection)
