"""A resident found by ID number over the real API and store: answered as the row route
answers the key, rate-limited per token, and the number is kept nowhere."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from starlette.applications import Starlette
from starlette.testclient import TestClient

from services.access.audit import find_reads
from services.access.tokens import create_token
from services.api.app import create_api
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.accessibility import blocking_violations
from tests.support.browser import phone_page, screenshot
from tests.support.http_server import served_over_http
from tests.support.view_rows import SeedRow, resident_profile, seed_rows, store_rows

pytestmark = pytest.mark.integration

HOME, OTHER = "110105001001", "110105001002"
GRID = "grid-office-110105001001"
LOOKUP = "/views/resident_profile/lookup"
PER_MINUTE = 5


def with_check_digit(first17: str) -> str:
    """GB 11643-1999, written out: weighted sum mod 11 into the ISO 7064 check characters."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


RESIDENT_ID = with_check_digit("11010519491231002")  # lives in HOME
ELSEWHERE_ID = with_check_digit("11010519500101003")  # lives in OTHER
UNKNOWN_ID = with_check_digit("11010519600101004")


@dataclass
class Served:
    app: Starlette
    client: TestClient
    engine: sa.Engine
    keys: dict[str, str]
    settings: Settings  # ID number -> its person_key under the hub key


def row_for(key: str, community: str) -> SeedRow:
    data = {**resident_profile(7, community), "person_key": key, "community_code": community}
    source = ["public-security", "E1", 1_709_600_000_000]
    provenance = {f: source for f in data if f != "person_key"}
    return SeedRow("resident_profile", key, community, data, provenance)


@pytest.fixture(scope="module")
def served(
    module_database_url: str, broker: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    engine = create_engine(module_database_url)
    create_schema(engine)
    settings = Settings.from_env(
        {
            "DATONG_VAR_DIR": str(tmp_path_factory.mktemp("var")),
            "DATONG_DATABASE_URL": module_database_url,
            "DATONG_LOOKUP_PER_MINUTE": str(PER_MINUTE),
            "DATONG_KAFKA_BOOTSTRAP": broker,  # the dashboard subscribes to the views
            "DATONG_TOPICS": "manage",
            # A test hub: open /metrics, a test database without TLS.
            "DATONG_METRICS_AUTH": "open",
            "DATONG_DATABASE_TLS": "unchecked",
        }
    ).with_dev_keys()
    keys = {
        n: hmac.new(settings.hmac_key, n.encode(), hashlib.sha256).hexdigest()
        for n in (RESIDENT_ID, ELSEWHERE_ID, UNKNOWN_ID)
    }
    store_rows(
        engine,
        [
            *seed_rows([HOME], per_community=1),
            row_for(keys[RESIDENT_ID], HOME),
            row_for(keys[ELSEWHERE_ID], OTHER),
        ],
    )
    app = create_api(settings, engine)
    with TestClient(app) as client:
        yield Served(app, client, engine, keys, settings)
    engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token(served: Served, audience: str = GRID) -> str:
    return create_token(served.engine, audience=audience).secret


def lookup(served: Served, secret: str, body: Any) -> Any:
    return served.client.post(LOOKUP, json=body, headers=bearer(secret))


def test_a_lookup_answers_exactly_what_the_row_route_answers_for_the_key(served: Served) -> None:
    secret = token(served)
    found = lookup(served, secret, {"id_number": RESIDENT_ID})
    assert found.status_code == 200, found.text
    by_key = served.client.get(
        f"/views/resident_profile/{served.keys[RESIDENT_ID]}", headers=bearer(secret)
    )
    assert found.json() == by_key.json()
    assert found.json()["person_key"] == served.keys[RESIDENT_ID]


def test_spaces_and_a_lower_case_x_are_accepted_as_a_connector_accepts_them(
    served: Served,
) -> None:
    spaced = " ".join([RESIDENT_ID[:6], RESIDENT_ID[6:14], RESIDENT_ID[14:]]).lower()
    assert lookup(served, token(served), {"id_number": spaced}).status_code == 200


def test_a_resident_of_another_community_or_nobody_is_the_same_404(served: Served) -> None:
    secret = token(served)
    elsewhere = lookup(served, secret, {"id_number": ELSEWHERE_ID})
    unknown = lookup(served, secret, {"id_number": UNKNOWN_ID})
    assert elsewhere.status_code == unknown.status_code == 404
    assert ELSEWHERE_ID not in elsewhere.text and UNKNOWN_ID not in unknown.text


def test_an_audience_not_granted_profiles_gets_403(served: Served) -> None:
    refused = lookup(served, token(served, "community-dashboard"), {"id_number": RESIDENT_ID})
    assert refused.status_code == 403


def test_without_a_token_a_lookup_gets_401(served: Served) -> None:
    assert served.client.post(LOOKUP, json={"id_number": RESIDENT_ID}).status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"id_number": RESIDENT_ID[:17] + ("1" if RESIDENT_ID[17] != "1" else "2")}, 422, "check"),
        ({"id_number": "１" * 18}, 422, "17 digits"),
        ({"id_number": 110105194912310021}, 422, "string"),
        ({"id_number": RESIDENT_ID, "name": "x"}, 422, "exactly"),
        ([RESIDENT_ID], 422, "exactly"),
        ({"id_number": "1" * 300}, 413, "at most"),
    ],
)
def test_a_bad_body_is_refused_naming_the_field_never_the_number(
    served: Served, body: Any, status: int, words: str
) -> None:
    refused = lookup(served, token(served), body)
    assert refused.status_code == status, refused.text
    assert words in refused.json()["error"]
    assert RESIDENT_ID[:17] not in refused.text


def test_a_body_that_is_not_json_gets_400(served: Served) -> None:
    refused = served.client.post(LOOKUP, content=b"{id_number:", headers=bearer(token(served)))
    assert refused.status_code == 400
    assert "JSON" in refused.json()["error"]


def test_lookups_beyond_the_tokens_rate_get_429_and_other_tokens_go_on(served: Served) -> None:
    busy, other = token(served), token(served)
    answers = [lookup(served, busy, {"id_number": UNKNOWN_ID}) for _ in range(PER_MINUTE + 1)]
    assert [a.status_code for a in answers] == [404] * PER_MINUTE + [429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert lookup(served, other, {"id_number": RESIDENT_ID}).status_code == 200


def test_the_number_is_kept_nowhere_the_audit_holds_the_key(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = token(served)
    assert lookup(served, secret, {"id_number": RESIDENT_ID}).status_code == 200
    assert lookup(served, secret, {"id_number": UNKNOWN_ID}).status_code == 404
    reads = find_reads(served.engine, audience=GRID, view="resident_profile")
    assert served.keys[RESIDENT_ID] in {r.key for r in reads}
    stored = dump(served.engine)
    metrics = served.client.get("/metrics").text
    for number in (RESIDENT_ID, UNKNOWN_ID):
        assert number not in stored
        assert number not in metrics
        assert number not in caplog.text


def dump(engine: sa.Engine) -> str:
    """Every value of every table of the store, as text."""
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(
            repr(row) for table in tables.sorted_tables for row in conn.execute(table.select())
        )


@pytest.fixture
def http_url(served: Served) -> Iterator[str]:
    with served_over_http(create_api(served.settings, served.engine)) as url:
        yield url


def test_the_dashboard_finds_a_resident_by_id_number(
    served: Served, http_url: str, tmp_path: Path
) -> None:
    secret = token(served)
    with phone_page() as page:
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{http_url}/?token={secret}&community={HOME}")
        page.locator("#lookup-key").fill(RESIDENT_ID)
        page.locator("#lookup-form button").click()
        expect(page.get_by_test_id("profile-name_masked")).to_have_text("李*英")
        expect(page.locator("#lookup-key")).to_have_value("")  # not left on the screen
        assert not [url for url in requested if RESIDENT_ID in url]  # never in a URL
        screenshot(page, "lookup")


def test_the_dashboard_words_an_alert_in_both_languages_and_labels_the_donut(
    served: Served, http_url: str, tmp_path: Path
) -> None:
    # The seeded welfare check cites the last water use (granted to the grid office) and how
    # many hours it lasted (needs the meter's reading time, which the grid office is not
    # granted): both languages give the time, neither the hours.
    secret = token(served)
    with phone_page() as page:
        page.goto(f"{http_url}/?token={secret}&community={HOME}")
        alerts = page.get_by_test_id("alerts")
        expect(alerts).to_contain_text("独居老人：24 小时以上未用水（自 2024-03-03 22:53 UTC 起）")
        expect(alerts).to_contain_text("no water use for 24 hours or more (since 2024-03-03")
        expect(page.locator("#health-chart")).to_contain_text("有健康码 with a status")
        assert blocking_violations(page) == []
        screenshot(page, "dashboard")
