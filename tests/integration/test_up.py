"""`datong up` brings broker, worker and API up on embedded defaults and stops them on Ctrl-C."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.api_tokens import READER
from tests.support.machine import ROOT
from tests.support.pipeline import answers_ok
from tests.support.stored_views import view_rows
from tests.support.up import start_up
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_up_serves_the_printed_urls_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    up = start_up(tmp_path)
    broker_port, api_port, metrics_port = up.broker_port, up.api_port, up.metrics_port
    try:
        up.wait_for_banner()
        printed = up.printed()
        assert f"http://127.0.0.1:{api_port}/healthz" in printed
        assert f"127.0.0.1:{broker_port} (embedded, memory-only)" in printed
        assert f"http://127.0.0.1:{metrics_port}/metrics" in printed
        wait_for(lambda: answers_ok(f"http://127.0.0.1:{api_port}/readyz"), what="readyz")
        assert answers_ok(f"http://127.0.0.1:{api_port}/healthz")
        wait_for(
            lambda: answers_ok(f"http://127.0.0.1:{metrics_port}/metrics"), what="worker metrics"
        )
        assert (tmp_path / "var" / "datong.db").exists(), "the embedded view store is SQLite"
        up.process.send_signal(signal.SIGINT)
        assert up.process.wait(30) in (0, 130), up.printed()
        assert not _listening(broker_port), "the embedded broker must stop with `up`"
        assert not _listening(api_port), "the API must stop with `up`"
    finally:
        up.kill_if_running()


def test_up_with_the_demo_feeds_every_department_into_the_views(tmp_path: Path) -> None:
    up = start_up(tmp_path, "--demo", "--residents", "300")
    api_port = up.api_port
    try:
        up.wait_for_banner()
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
            env=up.env,
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
        assert up.process.poll() is None, up.printed()
    finally:
        up.process.send_signal(signal.SIGINT)
        try:
            up.process.wait(30)
        except subprocess.TimeoutExpired:
            up.kill_if_running()
