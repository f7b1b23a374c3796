"""Engine creation: SQLite with WAL for the embedded default, PostgreSQL via psycopg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from schemas.registry import metadata as registry_metadata
from services.store.models import Base


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; a SQLite file's folder is created, and WAL is switched on."""
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes; NORMAL sync is durable in WAL mode
    # against process crashes, which is what at-least-once replay needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_schema(engine: sa.Engine) -> None:
    """Create the view store's and the embedded registry's tables if they do not exist."""
    Base.metadata.create_all(engine)
    registry_metadata.create_all(engine)


def ping(engine: sa.Engine) -> None:
    """Raise if the database cannot run a trivial query."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
