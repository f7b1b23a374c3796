"""The machine's PostgreSQL seen from the faults: who is inside a transaction, and a restart."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from tests.support.machine import POSTGRES_URL

OURS = ("datong-fault-monitor", "datong-fault-probe")


class TransactionProbe:
    """Reads pg_stat_activity for the hub's database: is a worker session inside a transaction?"""

    def __init__(self, database_url: str) -> None:
        url = sa.engine.make_url(database_url)
        self._database = url.database
        self._engine = sa.create_engine(
            url, connect_args={"application_name": OURS[1]}, pool_size=1
        )

    def in_transaction(self, application: str | None = None) -> bool:
        """True while a session of the hub (not ours; of ``application`` if given) runs a
        statement or holds a transaction open."""
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
            "AND application_name NOT IN :ours AND pid <> pg_backend_pid() "
            "AND (:app = '' OR application_name = :app) "
            "AND state IN ('active', 'idle in transaction')"
        ).bindparams(sa.bindparam("ours", expanding=True))
        parameters = {"db": self._database, "ours": list(OURS), "app": application or ""}
        with self._engine.connect() as conn:
            return bool(conn.execute(query, parameters).scalar())

    def wait_for(
        self, inside: bool, application: str | None = None, timeout_s: float = 3.0
    ) -> bool:
        """Poll until a hub session is (``inside``) or is not in a transaction; return the state."""
        deadline = time.monotonic() + timeout_s
        state = self.in_transaction(application)
        while state != inside and time.monotonic() < deadline:
            state = self.in_transaction(application)
        return state

    def close(self) -> None:
        """Release the probe's connection."""
        self._engine.dispose()


def named(database_url: str, application: str) -> str:
    """``database_url`` with a PostgreSQL application_name, so the probe can tell processes
    apart (SQLite URLs are returned as they are)."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return database_url
    return url.update_query_dict({"application_name": application}).render_as_string(
        hide_password=False
    )


def restart_postgres() -> float:
    """Restart the machine's PostgreSQL cluster; return how long it was down (seconds).

    Affects every database on the machine: a fault test does it once per run.
    """
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    wait_until_accepting()
    return time.monotonic() - started


def wait_until_accepting(timeout_s: float = 60.0) -> None:
    """Block until the cluster answers a query again."""
    engine = sa.create_engine(POSTGRES_URL, pool_pre_ping=True)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
                return
            except SQLAlchemyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        engine.dispose()
