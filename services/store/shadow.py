"""Where a rebuild builds its views: a store next to the live one, never the live one.

On PostgreSQL it is the schema ``datong_rebuild`` of the live database (the switch then
compares and copies rows in one server-side statement); on SQLite, a file beside the live
one (``datong.db`` -> ``datong.rebuild.db``). Each rebuild starts it empty and migrated, so
a rebuild killed anywhere is simply started again; the live store is never touched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from schemas.sql_stores import create_engine, migrate
from services.errors import ConfigError
from services.store.merge_store import MergeStore, open_merge_store
from services.store.migrate import HISTORY, upgrade

SCHEMA = "datong_rebuild"
# The shadow's merge takes advisory locks of its own: it never waits for a live worker's.
LOCKS = 0x100
_SQLITE_FILES = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Shadow:
    """The rebuilt store's address beside a live store."""

    live_url: str
    url: str
    schema: str | None = None  # PostgreSQL
    path: Path | None = None  # SQLite

    def describe(self) -> str:
        """Where it is, for an operator."""
        if self.path is not None:
            return f"file {self.path}"
        return f"schema {self.schema} of the live database"

    def merge_store(self) -> MergeStore:
        """A merge store connection on the shadow (advisory locks apart from the live ones)."""
        return open_merge_store(self.url, locks=LOCKS)

    def recreate(self) -> None:
        """Throw away whatever a previous rebuild left, and migrate an empty store."""
        self.drop()
        if self.schema is not None:
            _execute(self.live_url, f'CREATE SCHEMA "{self.schema}"')
        engine = create_engine(self.url)
        try:
            migrate(engine, HISTORY, upgrade)
        finally:
            engine.dispose()

    def drop(self) -> None:
        """Remove the rebuilt store."""
        if self.path is not None:
            for suffix in _SQLITE_FILES:
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            return
        _execute(self.live_url, f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def shadow_of(live_url: str) -> Shadow:
    """The shadow store of the live store at ``live_url``."""
    parsed = make_url(live_url)
    if parsed.drivername.startswith("sqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError(
                "a rebuild needs the view store in a file or PostgreSQL, not in memory: "
                "set DATONG_DATABASE_URL"
            )
        live = Path(parsed.database)
        path = live.with_name(f"{live.stem}.rebuild{live.suffix or '.db'}")
        return Shadow(live_url, str(parsed.set(database=str(path))), path=path)
    if "options" in parsed.query:
        raise ConfigError(
            "DATONG_DATABASE_URL sets libpq options; a rebuild sets its own search_path "
            "in them: move those options to the database role (ALTER ROLE ... SET)"
        )
    shadow: URL = parsed.update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    return Shadow(live_url, shadow.render_as_string(hide_password=False), schema=SCHEMA)


def _execute(url: str, statement: str) -> None:
    """Run one statement of the rebuild's own (DDL) in a transaction of its own."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()
