"""A watching connector publishes every export dropped in its folder and serves its metrics."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.factories import registry_rows, write_registry_csv
from tests.support.hub import Hub
from tests.support.topics import read_topic

pytestmark = pytest.mark.integration


def _metrics(hub: Hub) -> str:
    try:
        url = f"http://127.0.0.1:{hub.env['DATONG_CONNECTOR_METRICS_PORT']}/metrics"
        return httpx.get(url, timeout=5).text
    except httpx.TransportError:
        return ""


def _published(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("datong_connector_records_total{") and 'outcome="published"' in line
    )


def test_files_dropped_in_the_folder_are_published_and_moved_out(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    tmp_path: Path,
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    hub.start("api")  # the connector looks its schema ids up in the API's registry
    drop = tmp_path / "drop"
    drop.mkdir()
    write_registry_csv(drop / "户籍-1.csv", registry_rows(10, seed=1), encoding="gb18030")
    (drop / "broken.csv").write_bytes(b"\xff\xfe\x00garbage-without-a-header")
    connector = hub.start(
        "connector",
        "run",
        "public-security",
        "--source",
        str(drop),
        "--watch",
        "--interval",
        "0.5",
        long_running=True,
    )
    hub.wait_for((drop / "done" / "户籍-1.csv").exists, "the first file to be done")
    hub.wait_for((drop / "failed" / "broken.csv").exists, "the broken file to fail")

    write_registry_csv(drop / "户籍-2.csv", registry_rows(5, seed=2, start=100))
    hub.wait_for((drop / "done" / "户籍-2.csv").exists, "a file dropped later")
    assert sorted(p.name for p in drop.glob("*.csv")) == []

    records = read_topic(bootstrap, "src.public-security.resident-registered", expect=15)
    assert len({r.headers["ce_id"] for r in records}) == 15
    text = hub.wait_for(
        lambda: (t := _metrics(hub)) and _published(t) == 15 and t, "the connector's metrics"
    )
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert connector.poll() is None
