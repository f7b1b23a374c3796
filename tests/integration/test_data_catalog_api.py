"""The data catalogue over a real view store: ``GET /catalog`` for tokens, the page in a real
browser, and ``datong catalog`` on the command line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from starlette.applications import Starlette
from starlette.testclient import TestClient

from services.access.tokens import create_token, revoke_token
from services.api.app import create_api
from services.cli import main
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.accessibility import blocking_violations
from tests.support.browser import phone_page, screenshot
from tests.support.http_server import served_over_http
from tests.support.view_rows import HOUR_MS, T0_MS, seed_rows, store_rows

pytestmark = pytest.mark.integration

GRID = "grid-office-110105001001"


@dataclass
class Served:
    app: Starlette
    client: TestClient
    engine: sa.Engine
    database_url: str
    settings: Settings


@pytest.fixture(scope="module")
def served(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    engine = create_engine(module_database_url)
    create_schema(engine)
    # The seeded situation says health last sent at T0 and public security an hour before.
    store_rows(engine, seed_rows(["110105001001"], per_community=1))
    settings = Settings.from_env(
        {
            "DATONG_VAR_DIR": str(tmp_path_factory.mktemp("var")),
            "DATONG_DATABASE_URL": module_database_url,
        }
    ).with_dev_keys()
    app = create_api(settings, engine)
    with TestClient(app) as client:
        yield Served(app, client, engine, module_database_url, settings)
    engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def iso(millis: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(millis / 1000))


def test_the_catalogue_needs_a_token(served: Served) -> None:
    response = served.client.get("/catalog", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_gets_401(served: Served) -> None:
    issued = create_token(served.engine, audience=GRID)
    revoke_token(served.engine, issued.info.id)
    assert served.client.get("/catalog", headers=bearer(issued.secret)).status_code == 401


@pytest.mark.parametrize("holder", [{"audience": GRID}, {"department": "health"}])
def test_an_audience_or_a_department_reads_the_catalogue_with_what_the_store_has_seen(
    served: Served, holder: dict[str, str]
) -> None:
    token = create_token(served.engine, **holder).secret
    response = served.client.get("/catalog", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    departments = {d["department"]: d for d in body["departments"]}
    assert departments["health"]["newest_event_at"] == iso(T0_MS)
    assert departments["public-security"]["newest_event_at"] == iso(T0_MS - HOUR_MS)
    assert departments["utilities"]["newest_event_at"] is None
    profile = next(v for v in body["views"] if v["view"] == "resident_profile")
    health = next(f for f in profile["fields"] if f["name"] == "health_status")
    assert (health["owner"], health["sharing"]) == ("health", "conditional")
    assert GRID in {r["audience"] for r in health["readers"]}


def test_a_browser_gets_the_page_without_a_token(served: Served) -> None:
    response = served.client.get("/catalog", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "数据目录" in response.text
    assert "person_key" not in response.text  # the page holds no data of its own


def test_the_catalogue_is_described_in_the_openapi_document(served: Served) -> None:
    described = served.client.get("/openapi.json").json()["paths"]["/catalog"]["get"]
    assert "catalogue" in described["summary"]


def test_the_cli_prints_the_catalogue_as_json(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATONG_DATABASE_URL", served.database_url)
    assert main(["catalog", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    departments = {d["department"]: d for d in body["departments"]}
    assert departments["health"]["newest_event_at"] == iso(T0_MS)
    assert {v["view"] for v in body["views"]} == {
        "resident_profile",
        "household",
        "community_situation",
        "alert",
    }


def test_the_cli_prints_one_line_per_field_with_its_class_in_both_words(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATONG_DATABASE_URL", served.database_url)
    assert main(["catalog"]) == 0
    lines = capsys.readouterr().out.splitlines()
    water = next(line for line in lines if line.strip().startswith("last_water_reading "))
    assert "不予共享 (not_shared)" in water and "read by nobody" in water


@pytest.fixture
def http_url(served: Served) -> Iterator[str]:
    with served_over_http(create_api(served.settings, served.engine)) as url:
        yield url


def test_the_page_shows_each_fields_owner_class_and_readers_on_a_phone(
    served: Served, http_url: str, tmp_path: Path
) -> None:
    token = create_token(served.engine, audience=GRID).secret
    with phone_page() as page:
        page.goto(f"{http_url}/catalog?token={token}")
        health = page.locator('[data-field="resident_profile.health_status"]')
        expect(health).to_contain_text("health")
        expect(health.locator('[data-sharing="conditional"]')).to_contain_text("有条件共享")
        expect(health.locator(f'[data-audience="{GRID}"]')).to_be_visible()
        water = page.locator('[data-field="household.last_water_reading"]')
        expect(water).to_contain_text("不予共享")
        expect(page.get_by_test_id("departments")).to_contain_text(iso(T0_MS))
        assert "token=" not in page.url  # the secret leaves the address bar
        assert blocking_violations(page) == []
        screenshot(page, "catalog")
