"""Fixtures shared by the suite: the real broker, real databases, and a merge worker process."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.broker import EmbeddedBroker, free_port
from services.settings import Settings

POSTGRES_URL = os.environ.get(
    "DATONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ROOT = Path(__file__).resolve().parent.parent


def wait_for(
    predicate: Callable[[], Any],
    timeout_s: float = 60.0,
    interval_s: float = 0.2,
    what: str = "condition",
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


@pytest.fixture(scope="session")
def start_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """Start a fresh embedded broker on a free port (for a test that needs empty topics)."""
    brokers: list[EmbeddedBroker] = []

    def start() -> str:
        log = tmp_path_factory.mktemp("broker") / "broker.log"
        broker = EmbeddedBroker(free_port(), log_path=log)
        broker.start()
        brokers.append(broker)
        return broker.bootstrap

    yield start
    for broker in brokers:
        broker.stop()


@pytest.fixture(scope="session")
def broker(start_broker: Callable[[], str]) -> str:
    """The session's embedded broker (bootstrap address)."""
    return start_broker()


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty view database: a SQLite file, or a new PostgreSQL database."""
    yield from _fresh_database(request.param, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Like ``database_url``, shared by the tests of one module (for read-mostly tests)."""
    yield from _fresh_database(request.param, tmp_path_factory.mktemp("db"))


def _fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'views.db'}"
        return
    name = f"datong_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_env(bootstrap: str, database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """``DATONG_*`` variables for a process of the hub under test."""
    env = {
        "DATONG_KAFKA_BOOTSTRAP": bootstrap,
        "DATONG_DATABASE_URL": database_url,
        "DATONG_VAR_DIR": str(var_dir),
        "DATONG_HMAC_KEY": _key(),
        "DATONG_SEAL_KEY": _key(),
        "DATONG_API_PORT": str(free_port()),
        "DATONG_WORKER_METRICS_PORT": str(free_port()),
        "DATONG_CONNECTOR_METRICS_PORT": str(free_port()),
        "DATONG_CONSUMER_GROUP": f"merge-{uuid.uuid4().hex[:8]}",
        "DATONG_SESSION_TIMEOUT_S": "3",
        "DATONG_PARTITIONS": "4",
    }
    env.update(extra)
    return env


@dataclass
class Hub:
    """The environment of one hub under test, and the processes started for it."""

    env: dict[str, str]
    tmp: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    watched: list[bool] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        """The settings every process of this hub reads."""
        return Settings.from_env(self.env)

    def start(
        self,
        *command: str,
        long_running: bool | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``datong <command>`` with this hub's environment (``env`` overriding some of
        it), logging to a file.

        A long-running process (worker, api, up by default) that exits fails ``wait_for``.
        """
        log = open(self.tmp / f"{command[0]}-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *command],
            env={**os.environ, **self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.processes.append(process)
        self.commands.append(command[0])
        watched = command[0] in ("worker", "api", "up") if long_running is None else long_running
        self.watched.append(watched)
        return process

    def wait_for(self, predicate: Callable[[], Any], what: str, timeout_s: float = 90.0) -> Any:
        """``wait_for`` that fails at once, with the logs, if a worker or API process died."""

        def check() -> Any:
            for command, process, watched in zip(
                self.commands, self.processes, self.watched, strict=True
            ):
                if watched and process.poll() is not None:
                    pytest.fail(
                        f"datong {command} exited with {process.returncode} "
                        f"while waiting for {what}:\n{self.logs()[-5000:]}"
                    )
            return predicate()

        return wait_for(check, timeout_s, what=what)

    def kill(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Signal a process on purpose (it no longer counts as a crash) and reap it."""
        self.watched[self.processes.index(process)] = False
        process.send_signal(sig)
        process.wait(30)

    def logs(self) -> str:
        """Everything the hub's processes printed (for failure messages)."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("*.log")))

    def stop(self) -> None:
        """Terminate every process (SIGTERM, then SIGKILL after 15 s)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def make_hub(tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    """Build hubs (settings + processes) for a test; their processes stop at teardown."""
    hubs: list[Hub] = []

    def make(bootstrap: str, database_url: str, **extra: str) -> Hub:
        tmp = tmp_path / f"hub{len(hubs)}"
        tmp.mkdir()
        hub = Hub(make_env(bootstrap, database_url, tmp / "var", **extra), tmp)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()
