"""``datong up`` run as a user runs it: its own process, on free ports, logging to a file."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from services.broker import free_port
from tests.support.holiday_calendar import holiday_calendar_env
from tests.support.machine import ROOT
from tests.support.waiting import wait_for


@dataclass
class Up:
    """A running ``datong up`` and where it listens."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]  # its environment, for the commands a user runs beside it
    log: Path
    var: Path
    broker_port: int
    api_port: int
    metrics_port: int

    def printed(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text(errors="replace")

    def wait_for_banner(self) -> None:
        """Block until it says it is up."""
        wait_for(lambda: "datong is up" in self.printed(), what="the banner")

    def kill_if_running(self) -> None:
        """Make sure it is gone (a test's cleanup)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


def start_up(tmp_path: Path, *args: str) -> Up:
    """Start ``datong up ARGS`` with nothing of the caller's ``DATONG_*`` environment and its
    state under ``tmp_path/var``."""
    up_ports = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATONG_")}
    env.update(
        {
            "DATONG_VAR_DIR": str(tmp_path / "var"),
            "DATONG_BROKER_PORT": str(up_ports[0]),
            "DATONG_API_PORT": str(up_ports[1]),
            "DATONG_WORKER_METRICS_PORT": str(up_ports[2]),
            "DATONG_QUALITY_METRICS_PORT": str(free_port()),
            "DATONG_SESSION_TIMEOUT_S": "3",
            # Only in a year the installed chinese-calendar does not cover: a test file.
            **holiday_calendar_env(tmp_path),
        }
    )
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Up(process, env, log, tmp_path / "var", *up_ports)
