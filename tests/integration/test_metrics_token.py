"""``/metrics`` behind a token: with DATONG_METRICS_AUTH=token the API, a merge worker and a
watching connector serve their metrics only to a scraper that sends the metrics token, keep
their probes open, and refuse to start without a token at all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from services.status import scrape
from tests.support.hub import Hub, make_env

pytestmark = pytest.mark.integration

TOKEN = "scrape-" + "t0k3n" * 6
PROTECTED = {"DATONG_METRICS_AUTH": "token", "DATONG_METRICS_TOKEN": TOKEN}
PORTS = {
    "api": "DATONG_API_PORT",
    "worker": "DATONG_WORKER_METRICS_PORT",
    "connector": "DATONG_CONNECTOR_METRICS_PORT",
}


def _get(url: str, token: str | None = None) -> httpx.Response | None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return httpx.get(url, headers=headers, timeout=5)
    except httpx.TransportError:
        return None


@pytest.fixture(scope="module")
def hub(start_broker: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The API, a worker and a watching connector, every /metrics behind TOKEN."""
    tmp = tmp_path_factory.mktemp("metrics-token")
    hub = Hub(
        make_env(start_broker(), f"sqlite:///{tmp / 'views.db'}", tmp / "var", **PROTECTED), tmp
    )
    drop = tmp / "drop"
    drop.mkdir()
    try:
        hub.start("api")
        hub.start("worker")
        source = ("--source", str(drop), "--watch", "--interval", "0.5")
        hub.start("connector", "run", "health", *source, long_running=True)
        for process, port in PORTS.items():
            health = partial(_get, f"http://127.0.0.1:{hub.env[port]}/healthz")
            hub.wait_for(health, f"the {process} to serve", timeout_s=120)
        yield hub
    finally:
        hub.stop()


def _metrics_url(hub: Hub, process: str) -> str:
    return f"http://127.0.0.1:{hub.env[PORTS[process]]}/metrics"


@pytest.mark.parametrize("process", list(PORTS))
def test_metrics_without_the_token_are_refused_with_a_bearer_challenge(
    hub: Hub, process: str
) -> None:
    response = _get(_metrics_url(hub, process))
    assert response is not None
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "datong_" not in response.text


@pytest.mark.parametrize("process", list(PORTS))
def test_metrics_with_a_wrong_token_are_refused(hub: Hub, process: str) -> None:
    response = _get(_metrics_url(hub, process), token=TOKEN[:-1] + "X")
    assert response is not None
    assert response.status_code == 401


@pytest.mark.parametrize("process", list(PORTS))
def test_metrics_with_the_token_are_served(hub: Hub, process: str) -> None:
    response = _get(_metrics_url(hub, process), token=TOKEN)
    assert response is not None
    assert response.status_code == 200
    assert "# TYPE " in response.text


@pytest.mark.parametrize("process", list(PORTS))
def test_health_stays_open_for_the_kubelet(hub: Hub, process: str) -> None:
    response = _get(f"http://127.0.0.1:{hub.env[PORTS[process]]}/healthz")
    assert response is not None
    assert response.status_code == 200


def test_a_worker_asked_for_a_token_it_lacks_refuses_to_start(
    broker: str, make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    hub = make_hub(broker, f"sqlite:///{tmp_path / 'views.db'}", DATONG_METRICS_AUTH="token")
    worker = hub.start("worker", long_running=False)
    assert worker.wait(60) != 0
    assert "DATONG_METRICS_TOKEN" in hub.logs()


def test_status_reads_protected_endpoints_with_the_token(hub: Hub) -> None:
    urls = [_metrics_url(hub, process) for process in PORTS]
    assert all(isinstance(text, str) for text in scrape(urls, token=TOKEN).values())
    refused = scrape(urls)
    assert all(isinstance(error, httpx.HTTPStatusError) for error in refused.values())


@pytest.mark.parametrize(
    "command",
    [("api",), ("connector", "run", "health", "--source", "{drop}", "--watch")],
    ids=["api", "connector"],
)
def test_the_api_and_a_watching_connector_without_a_token_refuse_to_start(
    broker: str, make_hub: Callable[..., Hub], tmp_path: Path, command: tuple[str, ...]
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    hub = make_hub(broker, f"sqlite:///{tmp_path / 'views.db'}", DATONG_METRICS_AUTH="token")
    process = hub.start(*(arg.format(drop=drop) for arg in command), long_running=False)
    assert process.wait(60) != 0
    assert "DATONG_METRICS_TOKEN" in hub.logs()
