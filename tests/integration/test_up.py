"""`datong up` brings broker, worker and API up on embedded defaults and stops them on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.broker import free_port
from tests.support.api_tokens import READER
from tests.support.machine import ROOT
from tests.support.stored_views import view_rows
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_up_serves_the_printed_urls_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    broker_port, api_port, metrics_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATONG_")}
    env.update(
        {
            "DATONG_VAR_DIR": str(tmp_path / "var"),
            "DATONG_BROKER_PORT": str(broker_port),
            "DATONG_API_PORT": str(api_port),
            "DATONG_WORKER_METRICS_PORT": str(metrics_port),
            "DATONG_SESSION_TIMEOUT_S": "3",
        }
    )
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "datong is up" in log.read_text(errors="replace"), what="the banner")
        printed = log.read_text()
        assert f"http://127.0.0.1:{api_port}/healthz" in printed
        assert f"127.0.0.1:{broker_port} (embedded, memory-only)" in printed
        assert f"http://127.0.0.1:{metrics_port}/metrics" in printed
        wait_for(lambda: _ok(f"http://127.0.0.1:{api_port}/readyz"), what="readyz")
        assert _ok(f"http://127.0.0.1:{api_port}/healthz")
        wait_for(lambda: _ok(f"http://127.0.0.1:{metrics_port}/metrics"), what="worker metrics")
        assert (tmp_path / "var" / "datong.db").exists(), "the embedded view store is SQLite"
        up.send_signal(signal.SIGINT)
        assert up.wait(30) in (0, 130), log.read_text()
        assert not _listening(broker_port), "the embedded broker must stop with `up`"
        assert not _listening(api_port), "the API must stop with `up`"
    finally:
        if up.poll() is None:
            up.kill()


def test_up_with_the_demo_feeds_every_department_into_the_views(tmp_path: Path) -> None:
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATONG_")}
    env.update(
        {
            "DATONG_VAR_DIR": str(tmp_path / "var"),
            "DATONG_BROKER_PORT": str(free_port()),
            "DATONG_API_PORT": str(api_port),
            "DATONG_WORKER_METRICS_PORT": str(free_port()),
            "DATONG_SESSION_TIMEOUT_S": "3",
        }
    )
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", "--demo", "--residents", "300"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "datong is up" in log.read_text(errors="replace"), what="the banner")
        manifest = json.loads((tmp_path / "var" / "demo" / "manifest.json").read_text())
        registered = sum(f["events"].get("resident-registered", 0) for f in manifest["files"])
        url = f"sqlite:///{tmp_path / 'var' / 'datong.db'}"
        rows = wait_for(
            lambda: (r := view_rows(url)) and len(r) >= registered and r,
            what=f"{registered} demo residents in resident_profile",
            timeout_s=120,
        )
        key = next(k for k, (visible, _, _) in rows.items() if visible)
        token = subprocess.run(
            [sys.executable, "-m", "services.cli", "tokens", "create", "--audience", READER],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        profile = httpx.get(
            f"http://127.0.0.1:{api_port}/views/resident_profile/{key}",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert profile["person_key"] == key and profile["name_masked"]
        assert up.poll() is None, log.read_text()
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            up.kill()
