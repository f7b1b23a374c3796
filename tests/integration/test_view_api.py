"""The query API over a real view store: tokens, the sharing policy on every read path, paging,
the read audit and the API's own description."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from schemas.catalog import Catalog
from services.access.audit import find_reads
from services.access.policy import (
    NOT_SHARED,
    PROVENANCE,
    Grant,
    Policy,
    PolicyError,
    allows_community,
)
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.access.tokens import create_token, revoke_token
from services.api import view_routes
from services.api.app import create_api
from services.api.authentication import Authenticator
from services.api.docs import UNDOCUMENTED, endpoints
from services.api.route_guard import require_tokens
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.view_rows import SeedRow, seed_rows, store_rows
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

GRID = "grid-office-110105001001"
HOME, OTHER = "110105001001", "110105001002"
ENV_TOKEN = "health-env-token-0123456789"
POLICY = load_policy(DEFAULT_POLICY_FILE)


@dataclass
class Api:
    """The API in-process over a seeded view store, with one token per shipped audience."""

    app: Starlette
    client: TestClient
    engine: sa.Engine
    rows: list[SeedRow]
    tokens: dict[str, str]

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get(path, params=params, headers=headers)

    def read(self, audience: str, path: str, **params: Any) -> Any:
        return self.get(path, self.tokens[audience], **params)

    def walk(self, audience: str, view: str, limit: int, **params: Any) -> list[dict[str, Any]]:
        """Every page of a list, following next_cursor to the end."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            extra: dict[str, str] = {"cursor": cursor} if cursor else {}
            response = self.read(audience, f"/views/{view}", limit=limit, **params, **extra)
            assert response.status_code == 200, response.text
            body = response.json()
            items.extend(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return items

    def export(self, audience: str, view: str, **params: Any) -> list[dict[str, Any]]:
        response = self.read(audience, f"/export/{view}", **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-ndjson")
        return [json.loads(line) for line in response.text.splitlines()]


@pytest.fixture(scope="module")
def api(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """Shared by the module's tests: they only read, or make tokens of their own."""
    database_url = module_database_url
    engine = create_engine(database_url)
    create_schema(engine)
    rows = seed_rows([HOME, OTHER, None], per_community=4)
    store_rows(engine, rows)
    settings = Settings.from_env(
        {
            "DATONG_VAR_DIR": str(tmp_path_factory.mktemp("var")),
            "DATONG_DATABASE_URL": database_url,
            "DATONG_INGEST_TOKENS": f"health={hashlib.sha256(ENV_TOKEN.encode()).hexdigest()}",
        }
    ).with_dev_keys()
    tokens = {a: create_token(engine, audience=a).secret for a in POLICY.audiences}
    tokens["dept:health"] = create_token(engine, department="health").secret
    app = create_api(settings, engine)
    with TestClient(app) as client:
        yield Api(app, client, engine, rows, tokens)
    engine.dispose()


def key_of(api: Api, view: str, community: str | None) -> str:
    return next(r.key for r in api.rows if r.view == view and r.community_code == community)


# --- tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/views/resident_profile"),
        ("GET", "/views/resident_profile/abc"),
        ("GET", "/export/resident_profile"),
        ("POST", "/ingest/health/health-status-changed"),
        ("POST", "/registry/subjects/view.alert-value/versions"),
    ],
)
def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(
    api: Api, method: str, path: str
) -> None:
    response = api.client.request(method, path, json=[])
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "token" in response.json()["error"]


def test_an_unknown_or_revoked_token_gets_401(api: Api) -> None:
    assert api.get("/views/resident_profile", "datong_not-a-token").status_code == 401
    issued = create_token(api.engine, audience="health-department")
    assert api.get("/views/resident_profile", issued.secret).status_code == 200
    revoke_token(api.engine, issued.info.id)
    # The token is kept in the process: the revocation reaches it at once on PostgreSQL (a
    # notification) and within a second on SQLite (a counter).
    response = wait_for(
        lambda: (r := api.get("/views/resident_profile", issued.secret)).status_code == 401 and r,
        10,
        what="the revoked token to be refused",
    )
    assert "revoked" in response.json()["error"]


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/metrics", "/docs", "/openapi.json", "/asyncapi.yaml", "/registry/subjects"],
)
def test_probes_metrics_docs_and_registry_reads_need_no_token(api: Api, path: str) -> None:
    assert api.get(path).status_code == 200


def test_registry_writes_need_a_department_token(api: Api) -> None:
    path = "/registry/subjects/src.health.x-value/versions"
    body = {"schema": '{"type": "string"}'}
    audience = api.client.post(path, json=body, headers=bearer(api.tokens[GRID]))
    assert audience.status_code == 403
    department = api.client.post(path, json=body, headers=bearer(api.tokens["dept:health"]))
    assert department.status_code == 200, department.text


def test_a_registry_lookup_needs_no_token_a_registry_delete_does(api: Api) -> None:
    # A connector looks up the ids of the schemas the hub registered, with no token.
    contract = Catalog.load().event("health", "health-status-changed")
    path = f"/registry/subjects/{contract.value_subject}"
    found = api.client.post(path, json={"schema": contract.schema_text})
    assert found.status_code == 200, found.text
    assert found.json()["subject"] == contract.value_subject
    assert api.client.delete(path).status_code == 401


PUBLIC_SECURITY_SUBJECT = "src.public-security.resident-registered-value"
HEALTH_SUBJECT = "src.health.scope-probe-value"


def registry_writes(subject: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(operation, method, path, body) of every kind of write on ``subject``, in an order
    that succeeds on a subject the caller may write."""
    schema = {"schema": '{"type": "string"}'}
    level = {"compatibility": "FULL"}
    at = f"/registry/subjects/{subject}"
    return [
        ("register", "POST", f"{at}/versions", schema),
        ("set-config", "PUT", f"/registry/config/{subject}", level),
        ("delete-config", "DELETE", f"/registry/config/{subject}", {}),
        ("delete-subject", "DELETE", at, {}),
        ("delete-version", "DELETE", f"{at}/versions/1?permanent=true", {}),
    ]


def registry_audit(api: Api) -> list[tuple[str, str | None, int]]:
    return [(r.operation, r.key, r.status) for r in find_reads(api.engine, view="registry")]


def test_a_department_token_writes_only_its_own_departments_subjects(api: Api) -> None:
    health = bearer(create_token(api.engine, department="health").secret)
    before = registry_audit(api)
    for _, method, path, body in registry_writes(PUBLIC_SECURITY_SUBJECT):
        refused = api.client.request(method, path, json=body or None, headers=health)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error_code"] == 40301
        assert "public-security's" in refused.json()["message"]
        assert "src.health.*" in refused.json()["message"]
    global_level = api.client.put(
        "/registry/config", json={"compatibility": "NONE"}, headers=health
    )
    assert global_level.status_code == 403
    assert api.client.get("/registry/config").json() == {"compatibilityLevel": "BACKWARD"}
    for _, method, path, body in registry_writes(HEALTH_SUBJECT):
        allowed = api.client.request(method, path, json=body or None, headers=health)
        assert allowed.status_code == 200, (path, allowed.text)

    operations = [op for op, *_ in registry_writes("")]
    assert registry_audit(api)[len(before) :] == [
        *((op, PUBLIC_SECURITY_SUBJECT, 403) for op in operations),
        ("set-config", None, 403),
        *((op, HEALTH_SUBJECT, 200) for op in operations),
    ]


def test_an_audience_token_may_write_no_subject_and_is_audited(api: Api) -> None:
    response = api.client.post(
        f"/registry/subjects/{HEALTH_SUBJECT}/versions",
        json={"schema": '{"type": "string"}'},
        headers=bearer(api.tokens[GRID]),
    )
    assert response.status_code == 403
    assert "department" in response.json()["message"]
    assert registry_audit(api)[-1] == ("register", HEALTH_SUBJECT, 403)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- department tokens on the intake ------------------------------------------------------------

INGEST = "/ingest/health/health-status-changed"


def test_a_department_token_made_by_the_cli_passes_the_intake_check(api: Api) -> None:
    # An empty batch is refused by the intake after it accepted the token: 422, not 401.
    response = api.client.post(INGEST, json=[], headers=bearer(api.tokens["dept:health"]))
    assert response.status_code == 422
    assert "empty array" in response.json()["error"]


def test_the_ingest_tokens_of_the_environment_still_work(api: Api) -> None:
    assert api.client.post(INGEST, json=[], headers=bearer(ENV_TOKEN)).status_code == 422


def test_a_department_token_publishes_only_its_own_events(api: Api) -> None:
    path = "/ingest/public-security/resident-registered"
    response = api.client.post(path, json=[], headers=bearer(api.tokens["dept:health"]))
    assert response.status_code == 403
    assert "only health's events" in response.json()["error"]


def test_an_audience_token_cannot_publish_and_a_department_token_cannot_read(api: Api) -> None:
    publish = api.client.post(INGEST, json=[], headers=bearer(api.tokens["health-department"]))
    assert publish.status_code == 403
    assert "department token" in publish.json()["error"]
    read = api.read("dept:health", "/views/resident_profile")
    assert read.status_code == 403
    assert "audience token" in read.json()["error"]


def test_a_revoked_department_token_gets_401_at_the_intake(api: Api) -> None:
    issued = create_token(api.engine, department="health")
    revoke_token(api.engine, issued.info.id)
    response = api.client.post(INGEST, json=[], headers=bearer(issued.secret))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


# --- refusals --------------------------------------------------------------------------------


def test_a_view_outside_the_policy_gets_403_naming_it(api: Api) -> None:
    paths = ("/views/resident_profile", "/views/resident_profile/x", "/export/resident_profile")
    for path in paths:
        response = api.read("community-dashboard", path)
        assert response.status_code == 403
        assert response.json()["view"] == "resident_profile"
        assert "community-dashboard" in response.json()["error"]


def test_a_field_outside_the_policy_gets_403_naming_it(api: Api) -> None:
    key = key_of(api, "resident_profile", HOME)
    for path in ("/views/resident_profile", f"/views/resident_profile/{key}"):
        response = api.read("public-security", path, fields="name_masked,health_status")
        assert response.status_code == 403
        assert response.json()["field"] == "health_status"
    not_shared = api.read(GRID, "/export/resident_profile", fields="household_no")
    assert not_shared.status_code == 403
    assert not_shared.json()["field"] == "household_no"


def test_a_field_no_view_has_gets_400_naming_it(api: Api) -> None:
    response = api.read(GRID, "/views/resident_profile", fields="name")
    assert response.status_code == 400
    assert response.json()["field"] == "name"


def test_asking_for_fields_returns_those_and_the_key(api: Api) -> None:
    items = api.read(GRID, "/views/resident_profile", fields="name_masked,provenance").json()
    assert items["items"]
    for item in items["items"]:
        assert set(item) == {"person_key", "name_masked", "provenance"}
        assert set(item["provenance"]) == {"name_masked"}


def test_a_community_outside_the_policy_gets_403_naming_it(api: Api) -> None:
    for path in ("/views/resident_profile", "/export/resident_profile"):
        response = api.read(GRID, path, community=OTHER)
        assert response.status_code == 403
        assert response.json()["community"] == OTHER


def test_a_row_of_another_community_is_not_found(api: Api) -> None:
    key = key_of(api, "resident_profile", OTHER)
    assert api.read("health-department", f"/views/resident_profile/{key}").status_code == 200
    response = api.read(GRID, f"/views/resident_profile/{key}")
    assert response.status_code == 404
    assert "resident_profile" in response.json()["error"]


def test_an_unknown_view_or_key_gets_404(api: Api) -> None:
    assert api.read(GRID, "/views/residents").status_code == 404
    assert api.read(GRID, "/views/residents/abc").json()["view"] == "residents"
    missing = api.read(GRID, f"/views/resident_profile/{'0' * 64}")
    assert missing.status_code == 404
    assert missing.json()["key"] == "0" * 64


@pytest.mark.parametrize(
    "cursor",
    ["not base64 !", "e30", "eyJ2IjoicmVzaWRlbnRfcHJvZmlsZSJ9", "WzEsMl0"],
)
def test_a_cursor_the_api_did_not_give_out_gets_400(api: Api, cursor: str) -> None:
    response = api.read("health-department", "/views/resident_profile", cursor=cursor)
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]


def test_a_cursor_of_another_view_gets_400(api: Api) -> None:
    page = api.read("health-department", "/views/resident_profile", limit=1).json()
    cursor = page["next_cursor"]
    position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    other = base64.urlsafe_b64encode(json.dumps({**position, "v": "household"}).encode()).decode()
    response = api.read("health-department", "/views/resident_profile", cursor=other)
    assert response.status_code == 400
    assert "another view" in response.json()["error"]


@pytest.mark.parametrize("limit", ["501", "0", "-1", "ten", "1.5"])
def test_a_limit_above_the_maximum_or_not_an_integer_gets_400(api: Api, limit: str) -> None:
    response = api.read("health-department", "/views/resident_profile", limit=limit)
    assert response.status_code == 400
    assert "limit" in response.json()["error"] and "500" in response.json()["error"]


# --- paging ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "community"),
    [("health-department", None), ("health-department", OTHER), (GRID, None)],
)
@pytest.mark.parametrize("limit", [1, 3, 500])
def test_pages_walk_every_row_exactly_once(
    api: Api, audience: str, community: str | None, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(view_routes, "EXPORT_PAGE", limit)  # the export pages the same way
    grant = POLICY.grant(audience, "resident_profile")
    assert grant is not None
    expected = {
        r.key
        for r in api.rows
        if r.view == "resident_profile"
        and allows_community(grant, r.community_code)
        and (community is None or r.community_code == community)
    }
    params = {"community": community} if community else {}
    pages = api.walk(audience, "resident_profile", limit, **params)
    walked = [item["person_key"] for item in pages]
    assert sorted(walked) == sorted(expected) and len(walked) == len(expected)
    exported = api.export(audience, "resident_profile", **params)
    assert [r["person_key"] for r in exported] == walked


# --- the policy on every read path ---------------------------------------------------------


def test_the_seeded_rows_cover_every_view_contract(api: Api) -> None:
    assert {r.view for r in api.rows} == {c.view for c in Catalog.load().views()}


def test_no_audience_ever_reads_a_field_outside_its_policy(api: Api) -> None:
    """Every shipped audience, every view, every read path: exactly the granted fields."""
    checked = 0
    for audience in POLICY.audiences:
        for view in Catalog.load().view_key_fields():
            grant = POLICY.grant(audience, view)
            seeded = [r for r in api.rows if r.view == view]
            assert seeded, f"no seeded rows of {view}"
            if grant is None:
                for path in (f"/views/{view}", f"/views/{view}/{seeded[0].key}", f"/export/{view}"):
                    assert api.read(audience, path).status_code == 403, (audience, path)
                continue
            readable = {
                r.key: r
                for r in seeded
                if allows_community(grant, r.community_code) and readable_type(grant, r)
            }
            records: list[dict[str, Any]] = []
            for row in seeded:
                response = api.read(audience, f"/views/{view}/{row.key}")
                assert response.status_code == (200 if row.key in readable else 404)
                if response.status_code == 200:
                    records.append(response.json())
            listed = api.walk(audience, view, limit=5)
            exported = api.export(audience, view)
            key_field = POLICY.views[view].key_field
            for path_records in (listed, exported):
                assert {r[key_field] for r in path_records} == set(readable)
            for record in [*records, *listed, *exported]:
                assert_granted(POLICY, audience, view, record, readable[record[key_field]])
                checked += 1
    assert checked > 0


def readable_type(grant: Grant, row: SeedRow) -> bool:
    """An alert is there for a reader only when its policy names the alert's type."""
    kind = row.data.get("alert_type")
    return kind is None or kind in (grant.derived.alert_types or ())


def assert_granted(
    policy: Policy, audience: str, view: str, record: dict[str, Any], seeded: SeedRow
) -> None:
    grant = policy.grant(audience, view)
    assert grant is not None
    not_shared = policy.views[view].of_class(NOT_SHARED)
    where = f"{audience} reading {view}"
    # A reason code comes with its words, rendered for the reader: never the contract's
    # not_shared field of the same name (words stored before reasons were coded).
    rendered = {"reason", "reason_zh"} if "reason_code" in grant.fields else set()
    assert set(record) == set(grant.fields) | rendered, where
    assert not (set(record) - rendered) & not_shared, where
    if rendered:
        assert record["reason"] != seeded.data["reason"], where
    sources = record.get(PROVENANCE, {})
    # A count by alert type keeps its provenance only for a reader of every type.
    partly = {name for name, types in grant.derived.type_counts.items() if types is not None}
    assert set(sources) == (grant.fields & set(seeded.provenance)) - {PROVENANCE} - partly, where
    for name, source in sources.items():
        department, event_id, event_time_ms = seeded.provenance[name]
        # Event ids only to a reader granted what they may embed (an alert's subject).
        shown = {"event_id": event_id} if grant.derived.event_ids else {}
        assert source == {"department": department, **shown, "event_time_ms": event_time_ms}


# --- the read audit --------------------------------------------------------------------------


def test_every_read_is_audited_with_who_why_what_and_how_many(api: Api) -> None:
    token = create_token(api.engine, audience=GRID, name="grid worker 7")
    key = key_of(api, "resident_profile", HOME)
    path = "/views/resident_profile"
    api.get(f"{path}/{key}", token.secret, fields="address")
    api.get(path, token.secret, limit=2)
    api.get("/export/resident_profile", token.secret, community=HOME)
    api.get(path, token.secret, community=OTHER)  # refused
    api.get(f"{path}/110105194803021234", token.secret)  # no such row: the key is not kept
    api.get("/views/110105194803021234", token.secret)  # no such view: not a read of a view
    api.get(path)  # no token: nobody to name
    entries = [
        e
        for e in find_reads(api.engine, audience=GRID, view="resident_profile", limit=500)
        if e.token_id == token.info.id
    ]
    assert [(e.operation, e.key, e.query, e.rows, e.status) for e in entries] == [
        ("row", key, {"fields": "address"}, 1, 200),
        ("list", None, {"limit": "2"}, 2, 200),
        ("export", None, {"community": HOME}, 4, 200),
        ("list", None, {"route": "/views/{view}", "parameters": ["community"]}, 0, 403),
        ("row", None, {"route": "/views/{view}/{key}", "parameters": []}, 0, 404),
    ]
    purpose = POLICY.audiences[GRID].purpose
    assert {(e.purpose, e.token_name) for e in entries} == {(purpose, "grid worker 7")}


# --- the API's description -------------------------------------------------------------------


def test_the_openapi_document_lists_every_route_the_api_serves(api: Api) -> None:
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    served = {(m.lower(), p) for m, p, _ in endpoints(api.app.routes)}
    described = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert served == described
    assert {"/views/{view}", "/views/{view}/{key}", "/export/{view}", "/docs"} <= set(
        document["paths"]
    )
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"] != UNDOCUMENTED, (method, path)
    assert document["paths"]["/views/{view}"]["get"]["security"] == [{"bearer": []}]
    assert document["paths"]["/healthz"]["get"]["security"] == []
    lookup = document["paths"]["/registry/subjects/{subject}"]
    assert lookup["post"]["security"] == [] and lookup["delete"]["security"] == [{"bearer": []}]


def test_the_docs_page_lists_every_operation_without_loading_anything(api: Api) -> None:
    page = api.get("/docs")
    assert page.headers["content-type"].startswith("text/html")
    document = api.get("/openapi.json").json()
    for path in document["paths"]:
        assert f"<code>{path}</code>" in page.text
    assert "<script" not in page.text
    assert not re.search(r"""(src|href)=['"]?https?:""", page.text)


# --- the guard on routes added later -----------------------------------------------------------


def test_routes_added_later_are_guarded_unless_named_open(api: Api, tmp_path: Path) -> None:
    async def hello(_: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    (tmp_path / "app.js").write_text("// the dashboard")
    routes = require_tokens(
        [
            Route("/", hello),
            Route("/subscribe/{view}", hello),
            Route("/secret", hello),
            Mount("/static", app=StaticFiles(directory=tmp_path)),
            Mount("/assets", app=StaticFiles(directory=tmp_path)),
        ],
        Authenticator(api.engine, {}),
        open_paths={"/", "/static"},
        query_token_paths={"/subscribe/{view}"},
    )
    token = api.tokens["community-dashboard"]
    with TestClient(Starlette(routes=routes)) as client:
        assert client.get("/").status_code == 200
        assert client.get("/static/app.js").status_code == 200
        assert client.get("/assets/app.js").status_code == 401
        assert client.get("/secret").status_code == 401
        assert client.get("/secret", params={"access_token": token}).status_code == 401
        assert client.get("/secret", headers=bearer(token)).status_code == 200
        assert client.get("/subscribe/alert").status_code == 401
        assert client.get("/subscribe/alert", params={"access_token": token}).status_code == 200
        assert client.get("/subscribe/alert", params={"access_token": "x"}).status_code == 401


def test_the_api_does_not_start_on_a_bad_policy(tmp_path: Path) -> None:
    policy = tmp_path / "sharing.yaml"
    policy.write_text("audiences: {grid: {purpose: x, communities: '*', views: {alerts: {}}}}")
    settings = Settings.from_env(
        {"DATONG_VAR_DIR": str(tmp_path), "DATONG_POLICY_FILE": str(policy)}
    ).with_dev_keys()
    engine = create_engine(f"sqlite:///{tmp_path / 'views.db'}")
    with pytest.raises(PolicyError, match=r"sharing.yaml: audience 'grid': view 'alerts'"):
        create_api(settings, engine)
    engine.dispose()


def test_an_open_stream_can_tell_that_its_token_was_revoked(api: Api) -> None:
    authenticator = Authenticator(api.engine, {"health": hashlib.sha256(b"x").hexdigest()})
    issued = create_token(api.engine, audience="community-dashboard")
    principal = authenticator.identify(issued.secret)
    assert principal is not None and asyncio.run(authenticator.still_live(principal))
    revoke_token(api.engine, issued.info.id)
    # Open streams' tokens are looked up together, at most every 0.5 s.
    wait_for(lambda: not asyncio.run(authenticator.still_live(principal)), what="the revocation")
    from_env = authenticator.identify("x")
    assert from_env is not None and asyncio.run(authenticator.still_live(from_env))
