"""SIGTERM, as Kubernetes and compose stop a container: every long-running command finishes
its batch, flushes, checkpoints and exits 0, well inside the grace period, losing nothing."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.api_tokens import reader_headers
from tests.support.expected_views import expected_of
from tests.support.factories import registry_rows, write_registry_csv
from tests.support.faults.harness import (
    assert_converged,
    deliver,
    merged_at_least,
    unpublished,
)
from tests.support.faults.workload import resident_events
from tests.support.hub import Hub
from tests.support.pipeline import answers_ok
from tests.support.sse_client import SseClient
from tests.support.stored_views import view_rows
from tests.support.topics import read_topic
from tests.support.up import start_up
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

# Kubernetes' default terminationGracePeriodSeconds: a clean stop ends well within it.
GRACE_S = 30


def _stop(hub: Hub, process: subprocess.Popen[bytes]) -> int:
    """SIGTERM ``process`` and return its exit code; fail if it outlives the grace period."""
    hub.watched[hub.processes.index(process)] = False
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(GRACE_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {GRACE_S} s after SIGTERM:\n{hub.logs()[-4000:]}")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_stopped_mid_backlog_exits_0_leaving_nothing_unpublished(
    start_broker: Callable[[], str], database_url: str, make_hub: Callable[..., Hub]
) -> None:
    # A broker of its own: every view is compared with the oracle, other tests' events too.
    hub = make_hub(start_broker(), database_url, DATONG_BATCH_SIZE="20")
    events = resident_events(300, hub.settings.hmac_key, random.Random(16))
    deliver(hub, events)
    worker = hub.start("worker")
    hub.wait_for(lambda: merged_at_least(hub, len(events) / 4), "a quarter merged")

    assert _stop(hub, worker) == 0, hub.logs()[-4000:]

    assert unpublished(database_url) == 0  # every committed change was sent before it ended
    hub.start("worker")
    assert_converged([hub], database_url, expected_of(events, hub.settings.hmac_key))


def _checkpointed(hub: Hub, department: str) -> int:
    """The highest position a department's connector saved (0 before any)."""
    path = hub.settings.checkpoint_dir / f"{department}.json"
    if not path.exists():
        return 0
    saved = json.loads(path.read_text())
    return max((int(entry.get("position") or 0) for entry in saved.values()), default=0)


def test_a_watching_connector_stopped_mid_file_exits_0_and_its_checkpoint_covers_what_it_sent(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    # Topics of its own: every record on them is this connector's.
    hub = make_hub(start_broker(), f"sqlite:///{tmp_path / 'views.db'}")
    hub.start("api")  # the schema registry
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = 20_000
    write_registry_csv(drop / "export.csv", registry_rows(rows))
    command = ("connector", "run", "public-security", "--watch", "--source", str(drop))
    connector = hub.start(*command, long_running=True)
    hub.wait_for(lambda: _checkpointed(hub, "public-security") >= 2000, "two batches published")

    assert _stop(hub, connector) == 0, hub.logs()[-4000:]

    position = _checkpointed(hub, "public-security")
    assert position < rows, "stopped mid-file"
    assert (drop / "export.csv").exists(), "an unfinished file stays to be resumed"
    topic = "src.public-security.resident-registered"
    assert len(read_topic(hub.settings.bootstrap, topic, position)) == position

    hub.start(*command, long_running=True)
    hub.wait_for((drop / "done" / "export.csv").exists, "the rest published after a restart")
    published = read_topic(hub.settings.bootstrap, topic, rows)
    assert len(published) == rows
    assert len({r.headers["ce_id"] for r in published}) == rows  # none twice


def test_a_connector_stopped_while_it_waits_for_its_registry_exits_0_at_once(
    broker: str, make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    hub = make_hub(broker, f"sqlite:///{tmp_path / 'views.db'}", DATONG_REGISTRY_WAIT_S="600")
    drop = tmp_path / "drop"
    drop.mkdir()
    command = ("connector", "run", "health", "--watch", "--source", str(drop))
    connector = hub.start(*command, long_running=True)  # no API: no registry answers
    hub.wait_for(lambda: "waiting up to 600 s for the schema registry" in hub.logs(), "waiting")

    assert _stop(hub, connector) == 0, hub.logs()[-4000:]  # long before its 600 s


def test_the_api_stopped_while_serving_reads_and_a_live_stream_exits_0(
    broker: str, make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'views.db'}"
    hub = make_hub(broker, database_url)
    api = hub.start("api")
    base = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"
    hub.wait_for(lambda: answers_ok(f"{base}/readyz"), "the API ready")
    headers = reader_headers(database_url)
    stream = SseClient(f"{base}/subscribe/resident_profile", headers)
    hub.wait_for(lambda: stream.status == 200, "the live stream open")
    reading = threading.Event()
    statuses: list[int] = []

    def read_while_running() -> None:
        with httpx.Client(timeout=10) as client:
            while api.poll() is None:
                try:
                    statuses.append(client.get(f"{base}/readyz").status_code)
                except httpx.TransportError:
                    return  # the server closed its socket: the stop under way
                reading.set()

    reader = threading.Thread(target=read_while_running, daemon=True)
    reader.start()
    hub.wait_for(reading.is_set, "reads under way")
    try:
        assert _stop(hub, api) == 0, hub.logs()[-4000:]
    finally:
        stream.close()
        reader.join(10)
    assert set(statuses) == {200}  # no read failed on its way out
    hub.wait_for(lambda: stream.ended, "the live stream ended by the server")


def test_up_stopped_while_its_demo_loads_exits_0_with_every_process_stopped(
    tmp_path: Path,
) -> None:
    up = start_up(tmp_path, "--demo", "--residents", "2000")
    api_port = up.api_port
    try:
        up.wait_for_banner()
        wait_for(lambda: answers_ok(f"http://127.0.0.1:{api_port}/readyz"), what="readyz")
        views = f"sqlite:///{tmp_path / 'var' / 'datong.db'}"
        wait_for(lambda: len(view_rows(views)) >= 100, what="the demo's residents arriving")

        up.process.send_signal(signal.SIGTERM)

        assert up.process.wait(GRACE_S * 2) == 0, up.printed()[-4000:]
        printed = up.printed()
        assert "Traceback" not in printed, printed[printed.find("Traceback") - 3000 :][:6000]
    finally:
        up.kill_if_running()
