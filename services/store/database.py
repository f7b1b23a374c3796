"""Engine creation: SQLite with WAL for the embedded default, PostgreSQL via psycopg."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from schemas.catalog import Catalog
from schemas.registry import SqlRegistry
from services.store import access_models  # noqa: F401 - registers its tables on Base
from services.store.migrate import current, head, upgrade


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; a SQLite file's folder is created, and WAL is switched on.

    The merge worker does not write through it (``merge_store.py`` does, with its own
    connections); the API, the CLI and the embedded registry do.
    """
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30}
    elif parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(parsed, pool_pre_ping=True, **options)
    if parsed.drivername.startswith("sqlite"):
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@contextmanager
def disposing(engine: sa.Engine) -> Iterator[sa.Engine]:
    """``engine`` for a ``with`` block, disposed at its end: a short-lived engine (one CLI
    command) closes its pooled connections instead of leaving them to the garbage collector."""
    try:
        yield engine
    finally:
        engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes; NORMAL sync is durable in WAL mode
    # against process crashes, which is what at-least-once replay needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# Any constant works: it only has to be the same in every datong process.
_SCHEMA_LOCK = 0x6461746F6E67


def create_schema(engine: sa.Engine) -> None:
    """Migrate the view store and the embedded registry to the newest schema (Alembic).

    Several processes start at once on a fresh database (workers, API, connectors): they
    take turns, on PostgreSQL under an advisory lock, on SQLite by taking the write lock
    before the first statement (pysqlite would otherwise run each DDL statement on its own,
    and another process could see half a schema).
    """
    if _at_head(engine):
        _register_catalog(engine)
        return
    migrating = _exclusive_sqlite(engine) if engine.dialect.name == "sqlite" else engine
    try:
        for attempt in range(5):
            try:
                with migrating.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(
                            sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK}
                        )
                    upgrade(conn)
                _register_catalog(engine)
                return
            except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
    finally:
        if migrating is not engine:
            migrating.dispose()


def _at_head(engine: sa.Engine) -> bool:
    """True when the store is migrated already (most starts): no lock is needed then."""
    try:
        with engine.connect() as conn:
            return current(conn) == head()
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


def _register_catalog(engine: sa.Engine) -> None:
    """Register every contract in catalog order, so that a fresh database gives each schema
    the same id as any other fresh database: records stay readable by any hub of the same
    catalog sharing the broker (a wiped view store, a test's second hub)."""
    registry = SqlRegistry(engine)
    for contract in Catalog.load():
        registry.register(contract.value_subject, contract.schema_text)


def ping(engine: sa.Engine) -> None:
    """Raise if the database cannot run a trivial query."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
