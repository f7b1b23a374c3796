"""A real Prometheus server (Debian package) scrapes a running hub on loopback, and the
datong metrics read back through its HTTP API are the ones the processes serve."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.broker import free_port
from tests.support.factories import registry_rows, write_registry_csv
from tests.support.hub import Hub
from tests.support.pipeline import answers_ok, run_connector
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

WORKER_JOB, API_JOB = "datong-worker", "datong-api"
MERGE_EVENTS = "datong_merge_events_total"
SERIES_LABELS = ("view", "department", "outcome")

Series = tuple[str, ...]


class Prometheus:
    """One Prometheus server process over a config and a TSDB in a temporary directory."""

    def __init__(self, tmp: Path, jobs: Mapping[str, str]) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus not found: install the Debian package `prometheus`")
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = tmp / "prometheus.log"
        config = tmp / "prometheus.yml"
        config.write_text(yaml.safe_dump(_scrape_config(jobs)))
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp / 'tsdb'}",
                    f"--web.listen-address={self.url.removeprefix('http://')}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def query(self, promql: str) -> list[dict[str, Any]] | None:
        """The instant-vector result of ``promql``; None while Prometheus cannot answer."""
        if self.process.poll() is not None:
            pytest.fail(f"prometheus exited with {self.process.returncode}:\n{self.logs()}")
        try:
            response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        body = response.json()
        assert body["status"] == "success", body
        assert body["data"]["resultType"] == "vector", body
        return list(body["data"]["result"])

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _scrape_config(jobs: Mapping[str, str]) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in jobs.items()
        ],
    }


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[[Mapping[str, str]], Prometheus]]:
    """Start Prometheus scraping ``{job: "host:port"}``; it stops at teardown."""
    servers: list[Prometheus] = []

    def start(jobs: Mapping[str, str]) -> Prometheus:
        directory = tmp_path / f"prometheus{len(servers)}"
        directory.mkdir()
        servers.append(Prometheus(directory, jobs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _worker_series(hub: Hub) -> dict[Series, float]:
    """``datong_merge_events_total`` as the worker serves it, by (view, department, outcome)."""
    url = f"http://127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}/metrics"
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.TransportError:
        return {}
    return {
        tuple(s.labels[name] for name in SERIES_LABELS): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == MERGE_EVENTS
    }


def _series(result: list[dict[str, Any]]) -> dict[Series, float]:
    return {
        tuple(item["metric"][name] for name in SERIES_LABELS): float(item["value"][1])
        for item in result
    }


def test_prometheus_scrapes_the_hub_and_serves_its_merge_counts_back(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    start_prometheus: Callable[[Mapping[str, str]], Prometheus],
    tmp_path: Path,
) -> None:
    hub = make_hub(start_broker(), f"sqlite:///{tmp_path / 'views.db'}")
    hub.start("api")  # the connector looks its schema ids up in the API's registry
    rows = registry_rows(6, seed=31)
    run_connector(hub, str(write_registry_csv(hub.tmp / "registry.csv", rows)))
    hub.start("worker")
    merged = ("resident_profile", "public-security", "applied")
    hub.wait_for(lambda: _worker_series(hub).get(merged) == len(rows), "the worker to merge")
    served = _worker_series(hub)  # nothing more is coming: these counts are final
    api = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"
    hub.wait_for(lambda: answers_ok(f"{api}/healthz"), "the API")

    prometheus = start_prometheus(
        {
            WORKER_JOB: f"127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}",
            API_JOB: f"127.0.0.1:{hub.env['DATONG_API_PORT']}",
        }
    )
    result = wait_for(
        lambda: prometheus.query(MERGE_EVENTS), timeout_s=20, what="a scraped merge count"
    )
    assert _series(result) == served
    assert {item["metric"]["job"] for item in result} == {WORKER_JOB}

    up = wait_for(
        lambda: (r := prometheus.query("up")) and len(r) == 2 and r,
        timeout_s=20,
        what="both targets scraped",
    )
    assert {item["metric"]["job"]: item["value"][1] for item in up} == {
        WORKER_JOB: "1",
        API_JOB: "1",
    }, prometheus.logs()
    requests = prometheus.query(f'datong_http_requests_total{{job="{API_JOB}"}}')
    assert requests, "the API's request counts are scraped too"
