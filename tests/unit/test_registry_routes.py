"""The Confluent Schema Registry REST API under /registry, and HttpRegistry speaking it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.testclient import TestClient

from schemas.catalog import Catalog
from schemas.errors import RegistryError
from schemas.registry.errors import (
    IncompatibleSchemaError,
    InvalidCompatibilityLevelError,
    RegistryRequestError,
    RegistryUnreachableError,
    SchemaNotFoundError,
)
from schemas.registry.http_client import HttpRegistry
from schemas.serde import Serde
from services.api.registry_routes import MAX_BODY_BYTES, MEDIA_TYPE, registry_routes
from services.broker import free_port
from services.store.registry_store import SqlRegistry
from tests.support.factories import health_event
from tests.support.stores import embedded_registry

SUBJECT = "src.test.meter-reading-value"


def schema(*fields: tuple[str, Any]) -> str:
    return json.dumps(
        {
            "type": "record",
            "name": "Reading",
            "namespace": "gov.test",
            "fields": [{"name": n, "type": t} for n, t in fields],
        }
    )


V1 = schema(("event_id", "string"), ("litres", "long"))
V2 = json.dumps(
    {
        **json.loads(V1),
        "fields": [
            *json.loads(V1)["fields"],
            {"name": "note", "type": ["null", "string"], "default": None},
        ],
    }
)
NARROWED = schema(("event_id", "string"), ("litres", "int"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlRegistry]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'views.db'}")
    yield embedded_registry(engine)
    engine.dispose()


@pytest.fixture
def client(store: SqlRegistry) -> Iterator[Any]:
    with TestClient(Starlette(routes=[registry_routes(store)])) as test_client:
        yield test_client


def post(client: Any, path: str, text: str, **body: Any) -> Any:
    return client.post(
        f"/registry{path}",
        content=json.dumps({"schema": text, **body}),
        headers={"Content-Type": MEDIA_TYPE},
    )


def error_code(response: Any) -> int:
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    body = response.json()
    assert set(body) == {"error_code", "message"}
    return int(body["error_code"])


# --- subjects and versions -----------------------------------------------------------------


def test_register_then_read_back_by_subject_version_and_id(client: Any) -> None:
    created = post(client, f"/subjects/{SUBJECT}/versions", V1)
    assert created.status_code == 200
    assert created.headers["content-type"].startswith(MEDIA_TYPE)
    schema_id = created.json()["id"]
    assert client.get("/registry/subjects").json() == [SUBJECT]
    assert client.get(f"/registry/subjects/{SUBJECT}/versions").json() == [1]
    version = client.get(f"/registry/subjects/{SUBJECT}/versions/latest").json()
    assert version == {
        "subject": SUBJECT,
        "version": 1,
        "id": schema_id,
        "schema": version["schema"],
    }
    assert json.loads(version["schema"]) == json.loads(V1)
    raw = client.get(f"/registry/subjects/{SUBJECT}/versions/1/schema")
    assert raw.json() == json.loads(V1)
    assert json.loads(
        client.get(f"/registry/schemas/ids/{schema_id}").json()["schema"]
    ) == json.loads(V1)
    assert client.get(f"/registry/schemas/ids/{schema_id}/schema").json() == json.loads(V1)


def test_plain_json_requests_are_accepted_too(client: Any) -> None:
    response = client.post(f"/registry/subjects/{SUBJECT}/versions", json={"schema": V1})
    assert response.status_code == 200


def test_registering_the_same_schema_again_returns_the_same_id(client: Any) -> None:
    first = post(client, f"/subjects/{SUBJECT}/versions", V1).json()
    assert post(client, f"/subjects/{SUBJECT}/versions", V1).json() == first
    assert client.get(f"/registry/subjects/{SUBJECT}/versions").json() == [1]


def test_lookup_answers_subject_version_id_and_schema(client: Any) -> None:
    schema_id = post(client, f"/subjects/{SUBJECT}/versions", V1).json()["id"]
    post(client, f"/subjects/{SUBJECT}/versions", V2)
    found = post(client, f"/subjects/{SUBJECT}", V1).json()
    assert (found["subject"], found["version"], found["id"]) == (SUBJECT, 1, schema_id)
    assert error_code(post(client, f"/subjects/{SUBJECT}", NARROWED)) == 40403
    assert error_code(post(client, "/subjects/nobody-value", V1)) == 40401


def test_schema_types_are_avro(client: Any) -> None:
    assert client.get("/registry/schemas/types").json() == ["AVRO"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/subjects/nobody-value/versions", 404, 40401),
        ("GET", "/subjects/nobody-value/versions/1", 404, 40401),
        ("GET", f"/subjects/{SUBJECT}/versions/9", 404, 40402),
        ("GET", f"/subjects/{SUBJECT}/versions/zero", 422, 42202),
        ("GET", f"/subjects/{SUBJECT}/versions/0", 422, 42202),
        ("GET", "/schemas/ids/999", 404, 40403),
        ("GET", "/schemas/ids/abc", 404, 40403),
    ],
)
def test_lookups_that_find_nothing_answer_confluent_errors(
    client: Any, method: str, path: str, status: int, code: int
) -> None:
    post(client, f"/subjects/{SUBJECT}/versions", V1)
    response = client.request(method, f"/registry{path}")
    assert response.status_code == status
    assert error_code(response) == code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"schema": "{not json"}, 42201),
        ({"schema": V1, "schemaType": "PROTOBUF"}, 42201),
        ({"schema": V1, "references": [{"name": "x", "subject": "y", "version": 1}]}, 42201),
        ({}, 42201),
    ],
)
def test_invalid_schemas_are_refused_with_42201(
    client: Any, body: dict[str, Any], code: int
) -> None:
    response = client.post(f"/registry/subjects/{SUBJECT}/versions", json=body)
    assert response.status_code == 422
    assert error_code(response) == code


def test_a_body_that_is_not_json_is_a_400(client: Any) -> None:
    response = client.post(f"/registry/subjects/{SUBJECT}/versions", content=b"schema=1")
    assert response.status_code == 400
    assert error_code(response) == 400


@pytest.mark.parametrize("path", [f"/subjects/{SUBJECT}", f"/subjects/{SUBJECT}/versions"])
def test_bodies_too_deep_or_too_large_are_refused_without_a_500(client: Any, path: str) -> None:
    # Lookups need no token: whatever anyone sends gets a Confluent error, never a 500.
    deep = client.post(f"/registry{path}", content=b"[" * 100_000 + b"]" * 100_000)
    assert (deep.status_code, error_code(deep)) == (400, 400)
    deep_schema = post(client, path, "[" * 100_000 + "]" * 100_000)
    assert (deep_schema.status_code, error_code(deep_schema)) == (422, 42201)
    large = post(client, path, " " * (MAX_BODY_BYTES + 1))
    assert (large.status_code, error_code(large)) == (413, 413)


# --- compatibility -------------------------------------------------------------------------


def test_an_incompatible_schema_is_refused_with_409_naming_the_field(client: Any) -> None:
    post(client, f"/subjects/{SUBJECT}/versions", V1)
    response = post(client, f"/subjects/{SUBJECT}/versions", NARROWED)
    assert response.status_code == 409
    assert error_code(response) == 409
    assert "field 'litres'" in response.json()["message"]
    assert "BACKWARD" in response.json()["message"]


def test_compatibility_check_answers_is_compatible_and_verbose_messages(client: Any) -> None:
    post(client, f"/subjects/{SUBJECT}/versions", V1)
    path = f"/compatibility/subjects/{SUBJECT}/versions/latest"
    assert post(client, path, V2).json() == {"is_compatible": True}
    assert post(client, path, NARROWED).json()["is_compatible"] is False
    verbose = post(client, f"{path}?verbose=true", NARROWED).json()
    assert any("field 'litres'" in m for m in verbose["messages"])
    assert post(client, f"/compatibility/subjects/{SUBJECT}/versions/1", V2).json() == {
        "is_compatible": True
    }
    assert error_code(post(client, f"/compatibility/subjects/{SUBJECT}/versions/5", V2)) == 40402


# --- config --------------------------------------------------------------------------------


def test_global_and_subject_config(client: Any) -> None:
    assert client.get("/registry/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert client.get("/registry/config/view.household-value").json() == {
        "compatibilityLevel": "FULL_TRANSITIVE"
    }
    put = client.put(f"/registry/config/{SUBJECT}", json={"compatibility": "FULL"})
    assert put.json() == {"compatibility": "FULL"}
    assert client.get(f"/registry/config/{SUBJECT}").json() == {"compatibilityLevel": "FULL"}
    assert client.put("/registry/config", json={"compatibility": "NONE"}).json() == {
        "compatibility": "NONE"
    }
    assert client.delete(f"/registry/config/{SUBJECT}").json() == {"compatibilityLevel": "FULL"}
    assert client.get(f"/registry/config/{SUBJECT}").json() == {"compatibilityLevel": "NONE"}


@pytest.mark.parametrize("body", [{"compatibility": "SIDEWAYS"}, {"level": "FULL"}])
def test_an_unknown_level_is_refused_with_42203(client: Any, body: dict[str, Any]) -> None:
    response = client.put("/registry/config", json=body)
    assert response.status_code == 422
    assert error_code(response) == 42203


# --- deletes -------------------------------------------------------------------------------


def test_soft_then_permanent_delete_of_a_version(client: Any) -> None:
    post(client, f"/subjects/{SUBJECT}/versions", V1)
    post(client, f"/subjects/{SUBJECT}/versions", V2)
    path = f"/registry/subjects/{SUBJECT}/versions/2"
    assert error_code(client.delete(f"{path}?permanent=true")) == 40407
    assert client.delete(path).json() == 2
    assert error_code(client.delete(path)) == 40406
    assert client.get(f"/registry/subjects/{SUBJECT}/versions").json() == [1]
    assert client.get(f"/registry/subjects/{SUBJECT}/versions?deleted=true").json() == [1, 2]
    assert client.get(f"{path}?deleted=true").json()["version"] == 2
    assert client.delete(f"{path}?permanent=true").json() == 2
    assert client.get(f"/registry/subjects/{SUBJECT}/versions?deleted=true").json() == [1]


def test_soft_then_permanent_delete_of_a_subject(client: Any) -> None:
    schema_id = post(client, f"/subjects/{SUBJECT}/versions", V1).json()["id"]
    path = f"/registry/subjects/{SUBJECT}"
    assert error_code(client.delete(f"{path}?permanent=true")) == 40405
    assert client.delete(path).json() == [1]
    assert client.get("/registry/subjects").json() == []
    assert client.get("/registry/subjects?deleted=true").json() == [SUBJECT]
    assert error_code(client.delete(path)) == 40404
    assert client.delete(f"{path}?permanent=true").json() == [1]
    assert error_code(client.delete(path)) == 40401
    assert client.get(f"/registry/schemas/ids/{schema_id}").status_code == 200


# --- HttpRegistry against the routes -------------------------------------------------------


class Bridge:
    """An httpx transport handing requests to the app's TestClient, counting them."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        answer = self.client.request(
            request.method,
            str(request.url),
            content=request.content,
            headers={"Content-Type": request.headers.get("Content-Type", MEDIA_TYPE)},
        )
        return httpx.Response(answer.status_code, content=answer.content)


@pytest.fixture
def bridge(client: Any) -> Bridge:
    return Bridge(client)


@pytest.fixture
def remote(bridge: Bridge) -> Iterator[HttpRegistry]:
    with HttpRegistry(
        "http://testserver/registry/", httpx.Client(transport=httpx.MockTransport(bridge))
    ) as registry:
        yield registry


def test_http_registry_registers_and_resolves_like_the_store(
    remote: HttpRegistry, store: SqlRegistry
) -> None:
    schema_id = remote.register(SUBJECT, V1)
    assert store.register(SUBJECT, V1) == schema_id
    assert json.loads(remote.schema_text(schema_id)) == json.loads(V1)


def test_http_registry_caches_ids_and_schemas(remote: HttpRegistry, bridge: Bridge) -> None:
    schema_id = remote.register(SUBJECT, V1)
    remote.schema_text(schema_id)
    before = len(bridge.requests)
    assert remote.register(SUBJECT, V1) == schema_id
    remote.schema_text(schema_id)
    assert len(bridge.requests) == before


def test_http_registry_maps_confluent_errors(remote: HttpRegistry) -> None:
    remote.register(SUBJECT, V1)
    with pytest.raises(SchemaNotFoundError):
        remote.schema_text(999)
    with pytest.raises(IncompatibleSchemaError, match="litres"):
        remote.register(SUBJECT, NARROWED)


def test_http_registry_reads_versions_levels_and_registers_idempotently(
    remote: HttpRegistry,
) -> None:
    assert remote.live_versions(SUBJECT) == []
    first = remote.register_version(SUBJECT, V1)
    again = remote.register_version(SUBJECT, V1)
    assert first.created and not again.created and again.version == 1
    assert [v.version for v in remote.live_versions(SUBJECT)] == [1]
    assert remote.compatibility(SUBJECT) == "BACKWARD"
    assert remote.compatibility("view.alert-value") == "FULL_TRANSITIVE"
    assert remote.set_compatibility("FULL", SUBJECT) == "FULL"
    assert remote.compatibility(SUBJECT) == "FULL"
    with pytest.raises(InvalidCompatibilityLevelError):
        remote.set_compatibility("SIDEWAYS")


def test_serde_round_trips_over_http_registry(remote: HttpRegistry, bridge: Bridge) -> None:
    catalog = Catalog.load()
    health = catalog.by_name("gov.health.HealthStatusChanged")
    record = health_event("ab" * 32, "RED", datetime(2024, 3, 5, 2, 0, tzinfo=UTC))
    payload = Serde(catalog, remote).encode(health, record)
    fresh = HttpRegistry(
        "http://testserver/registry", httpx.Client(transport=httpx.MockTransport(bridge))
    )
    assert Serde(catalog, fresh).decode(health, payload) == record
    fresh.close()


def test_a_lookup_only_client_finds_the_ids_registered_and_registers_nothing(
    bridge: Bridge, store: SqlRegistry
) -> None:
    registered = store.register(SUBJECT, V1)
    transport = httpx.MockTransport(bridge)
    with HttpRegistry(
        "http://testserver/registry", httpx.Client(transport=transport), auto_register=False
    ) as lookups:
        assert lookups.register(SUBJECT, V1) == registered
        with pytest.raises(SchemaNotFoundError, match="datong schemas register"):
            lookups.register(SUBJECT, V2)
    assert bridge.requests == [f"POST /registry/subjects/{SUBJECT}"] * 2  # lookups only
    assert [v.version for v in store.live_versions(SUBJECT)] == [1]


def test_waiting_for_a_registry_that_never_answers_gives_up_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}/registry"
    told: list[str] = []
    gave_up = f"{url}.*gave up after waiting 0.3 s"
    with (
        HttpRegistry(url, timeout_s=2) as registry,
        pytest.raises(RegistryUnreachableError, match=gave_up),
    ):
        registry.wait_until_answering(0.3, told.append)
    assert len(told) == 1 and url in told[0]


def test_waiting_for_a_registry_returns_as_soon_as_it_answers(remote: HttpRegistry) -> None:
    remote.wait_until_answering(0.0, lambda why: pytest.fail(f"waited: {why}"))


def test_a_registry_answering_with_an_error_is_not_waited_for(bridge: Bridge) -> None:
    wrong = HttpRegistry(  # the path lacks /registry: the API answers 404
        "http://testserver", httpx.Client(transport=httpx.MockTransport(bridge))
    )
    with pytest.raises(RegistryRequestError):
        wrong.wait_until_answering(30.0)
    wrong.close()


def test_an_unreachable_registry_is_a_registry_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/registry"
    with HttpRegistry(url, timeout_s=2) as registry, pytest.raises(RegistryError, match=url):
        registry.schema_text(1)
