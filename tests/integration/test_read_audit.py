"""The read audit: a read's record is committed before its answer leaves, and it names only
keys of rows that were returned."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.types import Message

from services.access.audit import ReadEntry, find_reads
from services.access.tokens import create_token
from services.api.app import create_api
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.view_rows import SeedRow, seed_rows, store_rows

pytestmark = pytest.mark.integration

HOME = "110105001001"
MADE_UP = "999999999999"
EVERY_COMMUNITY = "health-department"
ONE_COMMUNITY = f"grid-office-{HOME}"


@dataclass
class Api:
    """The API app over a seeded store, called straight through ASGI (no server between)."""

    app: Starlette
    engine: sa.Engine
    rows: list[SeedRow]

    def token(self, audience: str) -> tuple[str, str]:
        issued = create_token(self.engine, audience=audience)
        return issued.info.id, issued.secret

    def reads_of(self, token_id: str) -> list[ReadEntry]:
        return [e for e in find_reads(self.engine, limit=1000) if e.token_id == token_id]

    def get(self, path: str, secret: str, query: str = "", on_answer: Any = None) -> int:
        """GET ``path``; ``on_answer()`` runs when the answer's first message is sent."""
        return asyncio.run(self.call(path, secret, query, on_answer))

    async def call(self, path: str, secret: str, query: str = "", on_answer: Any = None) -> int:
        """``get`` on the running event loop."""
        status: list[int] = []

        requested: list[bool] = []

        async def receive() -> Message:
            if requested:  # a streamed answer listens for a hang-up: the client stays
                await asyncio.Event().wait()
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                if on_answer is not None:
                    on_answer()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"authorization", f"Bearer {secret}".encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 80),
            "state": {},
        }
        await self.app(scope, receive, send)
        return status[0]


@pytest.fixture(scope="module")
def api(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    engine = create_engine(module_database_url)
    create_schema(engine)
    rows = seed_rows([HOME], per_community=2)
    store_rows(engine, rows)
    settings = Settings.from_env(
        {
            "DATONG_VAR_DIR": str(tmp_path_factory.mktemp("var")),
            "DATONG_DATABASE_URL": module_database_url,
        }
    ).with_dev_keys()
    yield Api(create_api(settings, engine), engine, rows)
    engine.dispose()


def test_the_history_of_a_made_up_community_records_no_key_and_no_code(api: Api) -> None:
    token_id, secret = api.token(EVERY_COMMUNITY)
    path = f"/views/community_situation/{MADE_UP}/history"
    assert api.get(path, secret, "days=7") == 200
    [entry] = api.reads_of(token_id)
    assert (entry.operation, entry.key, entry.rows, entry.status) == ("history", None, 0, 200)
    assert MADE_UP not in str(entry.query)


def test_the_history_of_a_real_community_records_its_code(api: Api) -> None:
    token_id, secret = api.token(EVERY_COMMUNITY)
    assert api.get(f"/views/community_situation/{HOME}/history", secret) == 200
    [entry] = api.reads_of(token_id)
    assert (entry.operation, entry.key, entry.rows) == ("history", HOME, 1)
    assert entry.query == {"days": 7, "community": HOME}


def test_a_refused_history_records_neither_key_nor_code(api: Api) -> None:
    token_id, secret = api.token(ONE_COMMUNITY)
    assert api.get(f"/views/community_situation/{MADE_UP}/history", secret) == 403
    [entry] = api.reads_of(token_id)
    assert (entry.operation, entry.key, entry.rows, entry.status) == ("history", None, 0, 403)
    assert MADE_UP not in str(entry.query)


def test_a_row_that_is_not_there_records_no_key(api: Api) -> None:
    token_id, secret = api.token(EVERY_COMMUNITY)
    assert api.get(f"/views/resident_profile/{'f' * 64}", secret) == 404
    [entry] = api.reads_of(token_id)
    assert (entry.operation, entry.key, entry.rows, entry.status) == ("row", None, 0, 404)


# A value a reader might type in the wrong box: an ID number. No refused or empty read keeps
# it, in whichever part of the request it came.
TYPED = "11010519491231002X"


@dataclass(frozen=True)
class Asked:
    """A read as a client typed it, and what its audit record keeps of it."""

    audience: str
    path: str
    query: str
    status: int
    route: str
    parameters: list[str]


@pytest.mark.parametrize(
    "asked",
    [
        # Refused: a community outside the audience's, a field outside its grant or none.
        Asked(
            ONE_COMMUNITY,
            "/views/resident_profile",
            f"community={TYPED}&limit=5",
            403,
            "/views/{view}",
            ["community", "limit"],
        ),
        Asked(
            ONE_COMMUNITY,
            "/export/resident_profile",
            f"community={TYPED}",
            403,
            "/export/{view}",
            ["community"],
        ),
        Asked(
            ONE_COMMUNITY,
            f"/views/resident_profile/{TYPED}",
            f"fields={TYPED}",
            400,
            "/views/{view}/{key}",
            ["fields"],
        ),
        Asked(
            "public-security",
            f"/views/resident_profile/{TYPED}",
            "fields=health_status",
            403,
            "/views/{view}/{key}",
            ["fields"],
        ),
        Asked(
            ONE_COMMUNITY,
            f"/views/community_situation/{TYPED}/history",
            "days=3",
            403,
            "/views/community_situation/{code}/history",
            [],
        ),
        # Not there, or nothing there: a made-up key or community of an every-community
        # audience answers 404 or nothing.
        Asked(
            EVERY_COMMUNITY, f"/views/resident_profile/{TYPED}", "", 404, "/views/{view}/{key}", []
        ),
        Asked(
            EVERY_COMMUNITY,
            "/views/resident_profile",
            f"community={TYPED}&limit=7",
            200,
            "/views/{view}",
            ["community", "limit"],
        ),
        Asked(
            EVERY_COMMUNITY,
            "/export/resident_profile",
            f"community={TYPED}",
            200,
            "/export/{view}",
            ["community"],
        ),
        Asked(
            EVERY_COMMUNITY,
            f"/views/community_situation/{TYPED}/history",
            "days=3",
            200,
            "/views/community_situation/{code}/history",
            ["community", "days"],
        ),
    ],
    ids=lambda a: f"{a.status}-{a.route}",
)
def test_a_refused_or_empty_read_records_its_route_and_outcome_not_what_was_typed(
    api: Api, asked: Asked
) -> None:
    token_id, secret = api.token(asked.audience)
    assert api.get(asked.path, secret, asked.query) == asked.status
    [entry] = api.reads_of(token_id)
    recorded = (entry.audience, entry.key, entry.rows, entry.status)
    assert recorded == (asked.audience, None, 0, asked.status)
    assert entry.query == {"route": asked.route, "parameters": asked.parameters}


def test_a_read_that_returned_rows_records_its_query(api: Api) -> None:
    token_id, secret = api.token(ONE_COMMUNITY)
    assert api.get("/views/resident_profile", secret, f"community={HOME}&limit=1") == 200
    [entry] = api.reads_of(token_id)
    assert (entry.rows, entry.query) == (1, {"community": HOME, "limit": "1"})


def key_of(api: Api, view: str) -> str:
    return next(r.key for r in api.rows if r.view == view)


@pytest.mark.parametrize(
    ("audience", "path", "query", "status"),
    [
        (EVERY_COMMUNITY, "/views/resident_profile/{key}", "", 200),
        (EVERY_COMMUNITY, "/views/resident_profile", "limit=1", 200),
        (EVERY_COMMUNITY, f"/views/community_situation/{HOME}/history", "", 200),
        (ONE_COMMUNITY, "/views/resident_profile", "community=110105001002", 403),
        (ONE_COMMUNITY, "/views/community_situation/110105001002/history", "", 403),
        (EVERY_COMMUNITY, "/views/resident_profile/{missing}", "", 404),
    ],
)
def test_the_record_of_a_read_is_committed_before_its_answer_is_sent(
    api: Api, audience: str, path: str, query: str, status: int
) -> None:
    token_id, secret = api.token(audience)
    path = path.format(key=key_of(api, "resident_profile"), missing="0" * 64)
    recorded_at_answer: list[int] = []
    # Read from another connection, as a crash right after the answer would leave it.
    answered = api.get(
        path,
        secret,
        query,
        on_answer=lambda: recorded_at_answer.append(len(api.reads_of(token_id))),
    )
    assert answered == status
    assert recorded_at_answer == [1]


def test_concurrent_reads_are_each_recorded_once(api: Api) -> None:
    token_id, secret = api.token(EVERY_COMMUNITY)
    key = key_of(api, "resident_profile")

    async def many() -> list[int]:
        path = f"/views/resident_profile/{key}"
        return await asyncio.gather(*(api.call(path, secret) for _ in range(20)))

    assert asyncio.run(many()) == [200] * 20
    entries = api.reads_of(token_id)
    assert len(entries) == 20
    assert {(e.key, e.status) for e in entries} == {(key, 200)}
