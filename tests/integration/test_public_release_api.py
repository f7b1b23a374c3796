"""The public release over a real view store (SQLite and PostgreSQL): ``/public/{community}``
as JSON, Atom and a page, without a token; and the page in a real browser."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.testclient import TestClient

from services.access.public_release import Rules
from services.api.app import create_api
from services.api.public_routes import public_routes
from services.api.rate_limit import RateLimit
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.accessibility import blocking_violations
from tests.support.browser import phone_page, screenshot
from tests.support.http_server import served_over_http
from tests.support.view_rows import SeedRow, community_situation, household, store_rows

pytestmark = pytest.mark.integration

CODE = "610103001001"
RULES = Rules(min_count=10, base=5)
# Quarantined households by building; each has one delivery pending.
QUARANTINED = {"1号楼": 23, "2号楼": 3, "3号楼": 0}
OTHERS = 12  # households in 3号楼 with nobody quarantined
# By hand from the rules: 2号楼 and 3号楼 are under 10 (two of them: no complement is
# needed); 1号楼's 23 shows as 20 (20 to 24) and the total 26 as 25 (25 to 29), which leaves
# 2号楼 and 3号楼 anywhere from 0 to 9.
EXPECTED = {"total": 25, "by_building": {"1号楼": 20, "2号楼": None, "3号楼": None}}


def homes(building: str, quarantined: int, start: int) -> list[SeedRow]:
    rows = []
    for n in range(start, start + quarantined):
        data = household(n, CODE) | {"building": building, "quarantined": True}
        rows.append(SeedRow("household", data["dwelling_id"], CODE, data, {}))
    return rows


def seed(engine: sa.Engine) -> None:
    rows = [SeedRow("community_situation", CODE, CODE, community_situation(0, CODE), {})]
    start = 0
    for building, n in QUARANTINED.items():
        rows += homes(building, n, start)
        start += n
    for n in range(start, start + OTHERS):
        data = household(n, CODE) | {
            "building": "3号楼",
            "quarantined": False,
            "open_delivery_count": 0,
        }
        rows.append(SeedRow("household", data["dwelling_id"], CODE, data, {}))
    store_rows(engine, rows)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Served:
    engine: sa.Engine
    client: TestClient
    clock: Clock


@pytest.fixture
def served(database_url: str) -> Iterator[Served]:
    engine = create_engine(database_url)
    create_schema(engine)
    seed(engine)
    clock = Clock(datetime(2026, 12, 7, 19, 30, tzinfo=UTC))
    app = Starlette(routes=public_routes(engine, RULES, 6, RateLimit(1000), clock=clock))
    with TestClient(app) as client:
        yield Served(engine, client, clock)
    engine.dispose()


def test_the_release_shows_only_counts_of_k_or_more_rounded(served: Served) -> None:
    response = served.client.get(f"/public/{CODE}.json")
    assert response.status_code == 200
    body = response.json()
    for group in ("quarantined_households", "pending_deliveries"):
        assert {k: body[group][k] for k in ("total", "by_building")} == EXPECTED
    assert body["released_at"] == "2026-12-07T18:00:00Z"
    assert body["next_release_at"] == "2026-12-08T00:00:00Z"
    assert body["renovation_projects"] == [
        {
            "project_id": "R2024-01",
            "stage": "CONSTRUCTION",
            "percent": 40,
            "buildings": ["1号楼"],
            "changed_at": "2026-12-07T18:00:00Z",
        }
    ]
    # Cacheable until the next release, 4 h 30 min away.
    assert response.headers["cache-control"] == f"public, max-age={4 * 3600 + 1800}"


def test_a_release_stands_until_the_next_instant_and_then_notices_the_change(
    served: Served,
) -> None:
    first = served.client.get(f"/public/{CODE}.json").json()
    store_rows(served.engine, homes("2号楼", 5, 500))  # 2号楼 now 8, the total 31
    assert served.client.get(f"/public/{CODE}.json").json() == first
    served.clock.now += timedelta(hours=6)
    second = served.client.get(f"/public/{CODE}.json").json()
    assert second["quarantined_households"]["total"] == 30
    assert second["quarantined_households"]["by_building"]["2号楼"] is None
    assert {"figure": "quarantined_households", "from": 25, "to": 30} in second["notices"]
    feed = ET.fromstring(served.client.get(f"/public/{CODE}.atom").content)
    atom = "{http://www.w3.org/2005/Atom}"
    entries = feed.findall(f"{atom}entry")
    assert [e.findtext(f"{atom}updated") for e in entries] == [
        "2026-12-08T00:00:00Z",
        "2026-12-07T18:00:00Z",
    ]
    assert "25–29 → 30–34" in (entries[0].findtext(f"{atom}content") or "")


def test_releases_older_than_the_retention_are_forgotten_as_new_ones_are_kept(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    seed(engine)
    clock = Clock(datetime(2026, 12, 7, 19, 30, tzinfo=UTC))
    app = Starlette(
        routes=public_routes(engine, RULES, 6, RateLimit(1000), keep_days=1, clock=clock)
    )
    atom = "{http://www.w3.org/2005/Atom}"
    with TestClient(app) as client:
        for _ in range(5):  # 18:00, 00:00, 06:00, 12:00, 18:00
            assert client.get(f"/public/{CODE}.json").status_code == 200
            clock.now += timedelta(hours=6)
        feed = ET.fromstring(client.get(f"/public/{CODE}.atom").content)
    # The sixth release (Dec 9 00:00, made for the feed) keeps a day back: Dec 8 00:00 on.
    updated = [e.findtext(f"{atom}updated") for e in feed.findall(f"{atom}entry")]
    assert updated == [
        f"2026-12-0{d}T{h}:00:00Z"
        for d, h in [(9, "00"), (8, "18"), (8, "12"), (8, "06"), (8, "00")]
    ]
    engine.dispose()


@pytest.mark.parametrize(
    "path",
    [
        "/public/610103009999",  # well formed, no data
        "/public/610103009999.json",
        "/public/61010300100",  # 11 digits
        "/public/6101030010011",
        f"/public/{CODE}.xml",
        f"/public/{CODE}.json.json",
        "/public/%EF%BC%96" + CODE[1:],  # a full-width digit
        "/public/..%2f..%2fetc",
    ],
)
def test_anything_but_a_known_community_is_404(served: Served, path: str) -> None:
    assert served.client.get(path).status_code == 404


def test_no_key_or_dwelling_leaves_on_any_form(served: Served) -> None:
    for suffix in ("", ".json", ".atom"):
        text = served.client.get(f"/public/{CODE}{suffix}").text
        assert not re.search(r"[0-9a-f]{64}", text)  # a person_key
        assert f"{CODE}-01" not in text  # a dwelling id
        assert not re.search(r"\b[1-9]–", text.replace("10–", "")), "a range under k"


def test_requests_beyond_the_rate_are_429(database_url: str) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    seed(engine)
    app = Starlette(routes=public_routes(engine, RULES, 6, RateLimit(2)))
    with TestClient(app) as client:
        statuses = [client.get(f"/public/{CODE}.json").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
    engine.dispose()


def test_the_page_needs_no_token_and_shows_no_count_under_k(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    seed(engine)
    settings = Settings.from_env(
        {"DATONG_VAR_DIR": str(tmp_path / "var"), "DATONG_DATABASE_URL": database_url}
    ).with_dev_keys()
    with served_over_http(create_api(settings, engine)) as url, phone_page() as page:
        page.goto(f"{url}/public/{CODE}")  # no token
        shown = page.get_by_test_id("count").all_inner_texts()
        assert shown, "the page shows no figure"
        for text in shown:
            low = re.match(r"\s*([0-9]+)", text)
            assert low is None or int(low.group(1)) >= RULES.min_count, text
        assert any("20–24" in t for t in shown)  # 1号楼's 23
        assert any("不公布" in t for t in shown)  # 2号楼 and 3号楼
        assert blocking_violations(page) == []
        screenshot(page, "public")
    engine.dispose()
