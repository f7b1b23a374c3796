"""A schema registry behind HTTP basic auth: datong's client logs in with
DATONG_REGISTRY_USERNAME/_PASSWORD, is refused without them, and never shows the password."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from schemas.errors import RegistryError
from services.registries import connector_registry
from services.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "registry-password-42"
EXPECTED = "Basic " + base64.b64encode(f"datong:{PASSWORD}".encode()).decode()


class _Registry(BaseHTTPRequestHandler):
    """Answers GET /config like a Confluent registry, to the right credentials only."""

    def do_GET(self) -> None:
        body: dict[str, object]
        if self.headers.get("Authorization") == EXPECTED:
            status, body = 200, {"compatibilityLevel": "BACKWARD"}
        else:
            status, body = 401, {"error_code": 401, "message": "Unauthorized"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def registry_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def _settings(url: str, **credentials: str) -> Settings:
    return Settings.from_env({"DATONG_REGISTRY_URL": url, **credentials})


def test_a_connector_logs_in_to_the_registry_with_its_credentials(registry_url: str) -> None:
    settings = _settings(
        registry_url,
        DATONG_REGISTRY_USERNAME="datong",
        DATONG_REGISTRY_PASSWORD=PASSWORD,
    )
    with connector_registry(settings) as registry:
        assert registry.compatibility() == "BACKWARD"


def test_without_credentials_the_registry_refuses_and_the_error_says_so(registry_url: str) -> None:
    with (
        connector_registry(_settings(registry_url)) as registry,
        pytest.raises(RegistryError, match=r"401|Unauthorized"),
    ):
        registry.compatibility()


def test_a_wrong_password_is_refused_and_never_shown(registry_url: str) -> None:
    settings = _settings(
        registry_url, DATONG_REGISTRY_USERNAME="datong", DATONG_REGISTRY_PASSWORD="wrong-one"
    )
    with connector_registry(settings) as registry, pytest.raises(RegistryError) as refused:
        registry.compatibility()
    assert "wrong-one" not in str(refused.value)
