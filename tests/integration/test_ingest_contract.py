"""The intake's contract as the API serves it: each department's events and their JSON
Schemas without a token, and an OpenAPI document whose bodies, statuses and parameters are
the ones the API really takes and answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.testclient import TestClient

from schemas.catalog import Catalog
from services.access.tokens import create_token
from services.api.app import create_api
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.ingest_records import valid_record

pytestmark = pytest.mark.integration

CATALOG = Catalog.load()
INGEST = "/ingest/{department}/{event}"


@dataclass
class Api:
    """The API in-process over an empty SQLite store, and a health department token."""

    client: TestClient
    health: str
    document: dict[str, Any]

    def conforms(self, body: Any, schema: dict[str, Any]) -> bool:
        """Whether ``body`` fits ``schema``, whose $refs point into the OpenAPI document."""
        registry: Registry[Any] = Registry().with_resource(
            "urn:openapi", Resource.from_contents(self.document, DRAFT202012)
        )
        anchored = _anchored(schema)
        return jsonschema.Draft202012Validator(anchored, registry=registry).is_valid(body)


def _anchored(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: ("urn:openapi" + v if k == "$ref" and v.startswith("#") else _anchored(v))
            for k, v in node.items()
        }
    return [_anchored(v) for v in node] if isinstance(node, list) else node


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    var: Path = tmp_path_factory.mktemp("var")
    url = f"sqlite:///{var / 'views.db'}"
    engine = create_engine(url)
    create_schema(engine)
    health = create_token(engine, department="health").secret
    settings = Settings.from_env(
        {"DATONG_VAR_DIR": str(var), "DATONG_DATABASE_URL": url, "DATONG_INGEST_MAX_RECORDS": "5"}
    ).with_dev_keys()
    with TestClient(create_api(settings, engine)) as client:
        yield Api(client, health, client.get("/openapi.json").json())
    engine.dispose()


def answered(api: Api, method: str, path: str, status: int) -> dict[str, Any]:
    """The documented response of ``status`` to the operation (it must be documented)."""
    responses = api.document["paths"][path][method]["responses"]
    assert str(status) in responses, (method, path, status, sorted(responses))
    return dict(responses[str(status)])


# --- GET /ingest/{department} and the schema links ------------------------------------------


def test_a_department_s_events_and_schema_links_are_listed_without_a_token(api: Api) -> None:
    listing = api.client.get("/ingest/health")
    assert listing.status_code == 200
    events = {e["event"]: e for e in listing.json()["events"]}
    assert set(events) == {str(c.event) for c in CATALOG.sources("health")}
    tested = events["test-result-reported"]
    assert tested["name"] == "TestResultReported"
    assert tested["ingest"] == "/ingest/health/test-result-reported"
    schema = api.client.get(tested["schema"])
    assert schema.status_code == 200
    assert schema.headers["content-type"].startswith("application/schema+json")
    assert api.conforms(
        listing.json(),
        answered(api, "get", "/ingest/{department}", 200)["content"]["application/json"]["schema"],
    )


def test_an_event_s_served_schema_takes_a_record_or_a_bounded_batch(api: Api) -> None:
    contract = CATALOG.event("health", "test-result-reported")
    served = api.client.get("/ingest/health/test-result-reported/schema").json()
    check = jsonschema.Draft202012Validator(served)
    record = valid_record(contract)
    assert check.is_valid(record) and check.is_valid([record] * 5)
    assert not check.is_valid([record] * 6)  # DATONG_INGEST_MAX_RECORDS
    assert not check.is_valid({**record, "result": "弱阳"})
    assert check.is_valid({**record, "result": "阳性", "event_time": 1717466400000})


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/ingest/nowhere", "health"),
        ("/ingest/nowhere/test-result-reported/schema", "health"),
        ("/ingest/health/resident-registered/schema", "test-result-reported"),
        ("/ingest/health/TestResultReported/schema", "test-result-reported"),
    ],
)
def test_an_unknown_department_or_event_gets_404_naming_the_known_ones(
    api: Api, path: str, names: str
) -> None:
    answer = api.client.get(path)
    assert answer.status_code == 404
    assert names in answer.json()["error"]


# --- the OpenAPI document -------------------------------------------------------------------


def test_the_ingest_operation_documents_its_body_and_every_status(api: Api) -> None:
    operation = api.document["paths"][INGEST]["post"]
    assert {"202", "400", "401", "403", "404", "413", "422"} <= set(operation["responses"])
    assert "200" not in operation["responses"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    contract = CATALOG.event("health", "test-result-reported")
    record = valid_record(contract)
    assert api.conforms(record, body) and api.conforms([record, record], body)
    assert not api.conforms([], body) and not api.conforms({"event_id": "x"}, body)


def test_path_parameters_naming_departments_events_and_views_are_enums(api: Api) -> None:
    def schema_of(path: str, method: str, name: str) -> dict[str, Any]:
        parameters = api.document["paths"][path][method]["parameters"]
        return dict(next(p["schema"] for p in parameters if p["name"] == name))

    assert schema_of(INGEST, "post", "department")["enum"] == CATALOG.departments()
    assert "test-result-reported" in schema_of(INGEST, "post", "event")["enum"]
    assert set(schema_of("/views/{view}", "get", "view")["enum"]) == {
        "resident_profile",
        "household",
        "community_situation",
        "alert",
    }
    assert schema_of("/views/{view}", "get", "limit")["type"] == "integer"


def test_every_component_is_a_valid_json_schema(api: Api) -> None:
    for name, schema in api.document["components"]["schemas"].items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            pytest.fail(f"{name}: {error.message}")


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, b"{}", 401),
        ({"Authorization": "Bearer nonsense"}, b"{}", 401),
        ("health", b"not json", 400),
        ("health", b'{"event_id": "x"}', 422),
        ("health", b"[" + b"{}," * 6 + b"{}]", 413),
    ],
)
def test_the_intake_s_refusals_fit_their_documented_schemas(
    api: Api, headers: Any, body: bytes, status: int
) -> None:
    if headers == "health":
        headers = {"Authorization": f"Bearer {api.health}"}
    path = "/ingest/health/test-result-reported"
    answer = api.client.post(path, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    documented = answered(api, "post", INGEST, status)
    assert api.conforms(answer.json(), documented["content"]["application/json"]["schema"])


def test_a_token_of_another_department_and_an_unknown_event_are_documented_refusals(
    api: Api,
) -> None:
    headers = {"Authorization": f"Bearer {api.health}"}
    other = api.client.post("/ingest/grid/task-assigned", json={}, headers=headers)
    unknown = api.client.post("/ingest/health/no-such-event", json={}, headers=headers)
    assert (other.status_code, unknown.status_code) == (403, 404)
    for answer in (other, unknown):
        documented = answered(api, "post", INGEST, answer.status_code)
        assert api.conforms(answer.json(), documented["content"]["application/json"]["schema"])


def test_a_view_page_fits_its_documented_schema_and_needs_a_token(api: Api) -> None:
    assert api.client.get("/views/alert").status_code == 401
    documented = answered(api, "get", "/views/{view}", 200)
    schema = documented["content"]["application/json"]["schema"]
    page = {"items": [{"alert_id": "a", "provenance": {}}], "next_cursor": None}
    assert api.conforms(page, schema)
    assert not api.conforms({"items": "no"}, schema)
