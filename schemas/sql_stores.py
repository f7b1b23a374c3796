"""What every SQL store of datong shares: opening it, and migrating it with its own history.

Two stores: the hub's view store (``services/store``) and the connectors' state store
(``connectors/state``). Each has its own Alembic history and its own version table, so
neither ever sees the other's revisions, even in one database. Tables come from the
histories only: nothing outside the tests calls ``create_all``.

Several processes start at once on a fresh database (workers and the API on the view
store, connectors on theirs): they take turns, on PostgreSQL under an advisory lock, on
SQLite by taking the write lock before the first statement (pysqlite would otherwise run
each DDL statement on its own, and another process could see half a schema).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class History:
    """One store's Alembic history: its revisions, where a database records its revision,
    and the PostgreSQL advisory lock its migrating processes take turns on."""

    folder: Path
    lock_key: int
    version_table: str = "alembic_version"

    def config(self, connection: sa.Connection | None = None) -> Config:
        """The Alembic configuration (bound to ``connection`` when given).

        The history's ``env.py`` runs on ``attributes["connection"]`` and records its
        revision in ``attributes["version_table"]``.
        """
        config = Config()
        config.set_main_option("script_location", str(self.folder))
        config.attributes["connection"] = connection
        config.attributes["version_table"] = self.version_table
        return config

    def head(self) -> str:
        """The newest revision this code knows."""
        revision = ScriptDirectory.from_config(self.config()).get_current_head()
        assert revision is not None, f"{self.folder} has a head revision"
        return revision

    def current(self, connection: sa.Connection) -> str | None:
        """The revision the database is at (None before the first migration)."""
        context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
        return context.get_current_revision()

    def upgrade(self, connection: sa.Connection) -> None:
        """Bring the database to the newest revision, in the caller's transaction."""
        command.upgrade(self.config(connection), "head")


def create_engine(url: str, *, pre_ping: bool = True) -> sa.Engine:
    """An engine for ``url``; a SQLite file's folder is created, and WAL is switched on.

    ``pre_ping`` tests each connection as it leaves the pool (a round trip per checkout):
    the API's reads go without it, and retry once on a connection found dead instead.
    """
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30}
    elif parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(parsed, pool_pre_ping=pre_ping, **options)
    if parsed.drivername.startswith("sqlite"):
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        if parsed.database and parsed.database != ":memory:":
            _follow_replaced_file(engine, parsed.database)
    return engine


def file_identity(path: str) -> tuple[int, int] | None:
    """Which file ``path`` names now (device, inode), or None when there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return (found.st_dev, found.st_ino)


def _follow_replaced_file(engine: sa.Engine, path: str) -> None:
    """Pooled connections to a SQLite file that was since replaced are opened again.

    A connection keeps reading a deleted file for as long as it lives; after the store was
    lost and rebuilt (``datong views rebuild --switch``), readers must see the new file.
    While no file is there the old connections go on answering with the views they have.
    """

    def opened(_dbapi: Any, record: Any) -> None:
        record.info["file"] = file_identity(path)

    def checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        found = file_identity(path)
        if found is not None and found != record.info.get("file"):
            raise sa.exc.DisconnectionError(f"{path} was replaced")

    sa.event.listen(engine, "connect", opened)
    sa.event.listen(engine, "checkout", checkout)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers read while a writer writes; NORMAL sync is durable in WAL mode
    # against process crashes, which is what at-least-once replay needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def migrate(
    engine: sa.Engine,
    history: History,
    upgrade: Callable[[sa.Connection], None] | None = None,
) -> None:
    """Bring ``engine``'s database to ``history``'s newest revision, one process at a time.

    ``upgrade`` replaces ``history.upgrade`` (to refuse a database it cannot migrate first).
    """
    if _at_head(engine, history):
        return
    migrating = _exclusive_sqlite(engine) if engine.dialect.name == "sqlite" else engine
    try:
        for attempt in range(5):
            try:
                with migrating.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(
                            sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": history.lock_key}
                        )
                    (upgrade or history.upgrade)(conn)
                return
            except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
    finally:
        if migrating is not engine:
            migrating.dispose()


def _at_head(engine: sa.Engine, history: History) -> bool:
    """True when the store is migrated already (most starts): no lock is needed then."""
    try:
        with engine.connect() as conn:
            return history.current(conn) == history.head()
    except sa.exc.SQLAlchemyError:
        return False


def _exclusive_sqlite(engine: sa.Engine) -> sa.Engine:
    """An engine on the same SQLite file whose transactions begin with BEGIN IMMEDIATE."""
    exclusive = sa.create_engine(engine.url, connect_args={"timeout": 60})
    sa.event.listen(exclusive, "connect", _sqlite_pragmas)
    sa.event.listen(exclusive, "connect", _sqlite_manual_transactions)
    sa.event.listen(exclusive, "begin", _sqlite_begin_immediate)
    return exclusive


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself instead of pysqlite's deferred implicit one.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
