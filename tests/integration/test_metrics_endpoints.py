"""Every ``/metrics`` endpoint of a running hub passes ``promtool check metrics``, carries the
docs/metrics.md names, and never turns a person_key or an ID number into a label value."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from connectors.identity import person_key
from services.status import scrape, summarize
from services.status_table import render
from tests.support.api_tokens import reader_headers
from tests.support.factories import RegistryRow, health_event, registry_rows, write_registry_csv
from tests.support.hub import Hub, make_env
from tests.support.pipeline import T0, answers_ok, publish_health, run_connector

pytestmark = pytest.mark.integration

PERSON_KEY = re.compile(r"[0-9a-fA-F]{64}")
ID_NUMBER = re.compile(r"\d{17}[\dXx]")
HEALTH_TOPIC = "src.health.health-status-changed"

WORKER_METRICS = (
    "datong_merge_events_total",
    "datong_event_to_view_seconds_bucket",
    "datong_ingest_to_view_seconds_bucket",
    "datong_feed_cadence_seconds",
    "datong_view_freshness_seconds",
    "datong_consumer_lag",
)
API_METRICS = ("datong_http_requests_total",)


@dataclass(frozen=True)
class RunningHub:
    """A hub that merged registry rows, health events and one undecodable record."""

    hub: Hub
    rows: list[RegistryRow]

    def url(self, process: str) -> str:
        port = self.hub.env["DATONG_API_PORT" if process == "api" else "DATONG_WORKER_METRICS_PORT"]
        return f"http://127.0.0.1:{port}/metrics"

    def metrics(self, process: str) -> str:
        response = httpx.get(self.url(process), timeout=5)
        response.raise_for_status()
        return response.text


@pytest.fixture(scope="module")
def running(
    start_broker: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    """One hub for the module: its own broker, a SQLite view store, a worker and the API."""
    tmp = tmp_path_factory.mktemp("metrics-hub")
    hub = Hub(make_env(start_broker(), f"sqlite:///{tmp / 'views.db'}", tmp / "var"), tmp)
    try:
        hub.start("api")  # the connector looks its schema ids up in the API's registry
        rows = registry_rows(8, seed=21)
        run_connector(hub, str(write_registry_csv(tmp / "registry.csv", rows)))
        key = person_key(rows[0].id_number, hub.settings.hmac_key)
        publish_health(hub, [health_event(key, "RED", T0)])
        _publish_undecodable(hub.settings.bootstrap)
        hub.start("worker")
        running = RunningHub(hub, rows)
        hub.wait_for(lambda: _merged_everything(running), "every kind of merge outcome")
        _exercise_api(running, key)
        yield running
    finally:
        hub.stop()


def _publish_undecodable(bootstrap: str) -> None:
    """A record no schema decodes: the worker dead-letters it (outcome ``rejected``)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send(HEALTH_TOPIC, key=b"not-a-person", value=b"not avro")
    producer.flush()
    producer.close()


def _merged_everything(running: RunningHub) -> bool:
    try:
        text = running.metrics("worker")
    except httpx.HTTPError:
        return False
    return all(
        needle in text
        for needle in (
            'department="public-security",outcome="applied"',
            'department="health",outcome="applied"',
            'outcome="rejected"',
            "datong_consumer_lag{",
        )
    )


def _exercise_api(running: RunningHub, key: str) -> None:
    """Requests whose paths hold a person_key and an ID number (neither may become a label)."""
    api = running.url("api").removesuffix("/metrics")
    running.hub.wait_for(lambda: answers_ok(f"{api}/healthz"), "the API")
    id_number = running.rows[1].id_number
    reader = reader_headers(running.hub.env["DATONG_DATABASE_URL"])

    def status(path: str) -> int:
        return httpx.get(f"{api}{path}", headers=reader, timeout=5).status_code

    assert status(f"/views/resident_profile/{key}") == 200
    assert status(f"/views/resident_profile/{'0' * 64}") == 404
    assert status(f"/views/{id_number}/{key}") == 404
    assert status(f"/residents/{id_number}") == 404


def _promtool_check_metrics(text: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install the Debian package `prometheus`")
    return subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _sample_names(text: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


@pytest.mark.parametrize("process", ["worker", "api"])
def test_promtool_check_metrics_passes_on_every_endpoint(running: RunningHub, process: str) -> None:
    text = running.metrics(process)
    result = _promtool_check_metrics(text)
    assert (result.returncode, result.stdout + result.stderr) == (0, ""), text


def test_promtool_check_metrics_reports_a_lint_problem() -> None:
    """The check above can fail: promtool flags a counter without the _total suffix."""
    result = _promtool_check_metrics("# HELP x_count n\n# TYPE x_count counter\nx_count 1\n")
    assert result.returncode != 0
    assert '"_total" suffix' in result.stdout + result.stderr


def test_worker_serves_merge_latency_freshness_and_lag_metrics(running: RunningHub) -> None:
    names = _sample_names(running.metrics("worker"))
    assert set(WORKER_METRICS) <= names
    assert not set(API_METRICS) & names


def test_api_serves_request_counts_by_route_template(running: RunningHub) -> None:
    text = running.metrics("api")
    assert set(API_METRICS) <= _sample_names(text)
    assert not set(WORKER_METRICS) & _sample_names(text)
    routes = {
        s.labels["route"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "datong_http_requests_total"
    }
    assert {"/views/{view}/{key}", "/healthz", "unmatched"} <= routes


@pytest.mark.parametrize("process", ["worker", "api"])
def test_no_label_value_is_a_person_key_or_an_id_number(running: RunningHub, process: str) -> None:
    values = {
        value
        for family in text_string_to_metric_families(running.metrics(process))
        for sample in family.samples
        for value in sample.labels.values()
    }
    assert values, "the endpoint exposes labelled samples"
    leaked = {v for v in values if PERSON_KEY.search(v) or ID_NUMBER.search(v)}
    assert not leaked


def test_status_summarizes_the_running_hub(running: RunningHub) -> None:
    status = summarize(scrape([running.url("worker"), running.url("api")]))
    assert status.unreachable == []
    feeds = {(f.view, f.department): f for f in status.feeds}
    assert feeds[("resident_profile", "public-security")].events["applied"] >= len(running.rows)
    assert feeds[("resident_profile", "health")].events["applied"] == 1
    assert feeds[("-", "health")].events["rejected"] == 1
    assert feeds[("resident_profile", "public-security")].freshness_s is not None
    assert any(lag.topic == HEALTH_TOPIC for lag in status.lag)
    assert re.search(r"^  resident_profile +public-security +\d+ ", render(status), re.M)
