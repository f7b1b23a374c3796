"""Unusual input gets a 4xx naming what is wrong, never a server error: numbers in paths,
query strings and headers are ASCII digits within bounds, JSON bodies are shallow."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from services.access.tokens import create_token
from services.api.app import create_api
from services.settings import Settings
from services.store.database import create_engine, create_schema

pytestmark = pytest.mark.integration

ENV_TOKEN = "health-env-token-0123456789"
SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no
DEEP = 50_000


@pytest.fixture(scope="module")
def client(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    engine = create_engine(module_database_url)
    create_schema(engine)
    settings = Settings.from_env(
        {
            "DATONG_VAR_DIR": str(tmp_path_factory.mktemp("var")),
            "DATONG_DATABASE_URL": module_database_url,
            "DATONG_INGEST_TOKENS": f"health={hashlib.sha256(ENV_TOKEN.encode()).hexdigest()}",
        }
    ).with_dev_keys()
    secret = create_token(engine, audience="health-department").secret
    with TestClient(create_api(settings, engine)) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        yield client
    engine.dispose()


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        (f"/views/resident_profile?limit={SUPERSCRIPT_TWO}", "limit"),
        ("/views/resident_profile?limit=%EF%BC%93", "limit"),  # a fullwidth 3
        ("/views/resident_profile?limit=" + "9" * 5000, "limit"),
        (f"/views/community_situation/110105001001/history?days={SUPERSCRIPT_TWO}", "days"),
        ("/views/community_situation/110105001001/history?days=+7", "days"),
        ("/views/resident_profile?cursor=" + "W" * 5000, "cursor"),
        ("/views/resident_profile/%00", "path"),
        ("/views/resident_profile/" + "k" * 129, "key"),  # longer than any key
        ("/views/community_situation/" + "9" * 65 + "/history", "code"),
        ("/views/resident_profile?community=" + "9" * 65, "community"),
        ("/views/resident_profile?community=%00", "query string"),
    ],
)
def test_a_number_or_text_that_is_not_plain_gets_400_naming_the_parameter(
    client: TestClient, path: str, parameter: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter


def test_a_cursor_nested_deep_gets_400_naming_the_cursor(client: TestClient) -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 1000).decode()
    response = client.get("/views/resident_profile", params={"cursor": cursor})
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == "cursor"


@pytest.mark.parametrize(
    "last_event_id",
    # Header bytes are read as Latin-1: 0xB2 arrives as the superscript two.
    [b"\xb2:1", b"0:\xb2", b"0:" + b"9" * 5000, b"5000:1", b"0:1,0:2"],
)
def test_a_last_event_id_that_is_not_plain_digits_gets_400_naming_the_header(
    client: TestClient, last_event_id: bytes
) -> None:
    response = client.get("/subscribe/resident_profile", headers={b"Last-Event-ID": last_event_id})
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == "Last-Event-ID"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/registry/schemas/ids/{SUPERSCRIPT_TWO}", 404),
        ("/registry/schemas/ids/99999999999999999999", 404),
        ("/registry/schemas/ids/9999999999", 404),
        (f"/registry/subjects/x/versions/{SUPERSCRIPT_TWO}", 422),
        (f"/registry/subjects/x/versions/{SUPERSCRIPT_TWO}/schema", 422),
        ("/registry/subjects/" + "s" * 256 + "/versions", 422),
    ],
)
def test_the_registry_answers_unusual_numbers_as_confluent_does(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.json()["error_code"] // 100 == status


def test_an_ingest_body_nested_50000_deep_gets_400_saying_so(client: TestClient) -> None:
    response = client.post(
        "/ingest/health/health-status-changed",
        content=b"[" * DEEP + b"]" * DEEP,
        headers={"Authorization": f"Bearer {ENV_TOKEN}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert "nested deeper than 64 levels" in response.json()["error"]


def test_an_ingest_body_of_65_levels_is_refused_and_64_is_not_for_depth(
    client: TestClient,
) -> None:
    headers = {"Authorization": f"Bearer {ENV_TOKEN}", "Content-Type": "application/json"}
    path = "/ingest/health/health-status-changed"
    deep = client.post(path, content=b'[{"a":' + b"[" * 63 + b"]" * 63 + b"}]", headers=headers)
    shallow = client.post(path, content=b'[{"a":' + b"[" * 62 + b"]" * 62 + b"}]", headers=headers)
    assert deep.status_code == 400, deep.text
    assert shallow.status_code == 422, shallow.text  # parsed: the record is merely invalid


def test_a_registry_body_nested_50000_deep_gets_400_saying_so(client: TestClient) -> None:
    response = client.post(
        "/registry/subjects/src.health.x-value/versions",  # the token's own: it may write
        content=b'{"schema":' + b"[" * DEEP + b"]" * DEEP + b"}",
        headers={"Authorization": f"Bearer {ENV_TOKEN}"},
    )
    assert response.status_code == 400, response.text
    assert "nested deeper than 64 levels" in response.json()["message"]
