"""The hub under test: its ``DATONG_*`` environment, and the ``datong`` processes started for it."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from services.broker import free_port
from services.settings import Settings
from tests.support.holiday_calendar import holiday_calendar_env
from tests.support.machine import ROOT
from tests.support.waiting import wait_for


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


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
        "DATONG_QUALITY_METRICS_PORT": str(free_port()),
        "DATONG_CONSUMER_GROUP": f"merge-{uuid.uuid4().hex[:8]}",
        "DATONG_SESSION_TIMEOUT_S": "3",
        "DATONG_PARTITIONS": "4",
        "DATONG_TOPICS": "manage",  # an embedded broker: the hub creates its topics
        # A development hub on a test machine: open /metrics, test databases without TLS.
        "DATONG_METRICS_AUTH": "open",
        "DATONG_DATABASE_TLS": "unchecked",
        # Only in a year the installed chinese-calendar does not cover: a test file.
        **holiday_calendar_env(var_dir),
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
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``datong <command>`` with this hub's environment (``env`` overriding some of
        it), logging to a file; it runs in the repository unless ``cwd`` names a folder.

        A long-running process (worker, api, up by default) that exits fails ``wait_for``.
        """
        # The child writes through its own copy of the descriptor: ours closes at once.
        with open(self.tmp / f"{command[0]}-{len(self.processes)}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", *command],
                env={**os.environ, **self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd or ROOT,
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
