"""Schema migrations with Alembic: every datong process upgrades the view store on start."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from services.errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """The Alembic configuration of the view store (bound to ``connection`` when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this code knows."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None, "the migrations folder has a head revision"
    return revision


def current(connection: sa.Connection) -> str | None:
    """The revision the database is at (None before the first migration)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: sa.Connection) -> None:
    """Bring the database to the newest revision, in the caller's transaction."""
    if current(connection) is None and sa.inspect(connection).has_table("view_row"):
        raise ConfigError(
            "the view store predates schema migrations (it has tables but no alembic_version): "
            "rebuild it from the topics — remove the SQLite file or drop the tables"
        )
    command.upgrade(alembic_config(connection), "head")
