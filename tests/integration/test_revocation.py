"""A revoked token's open streams end within a second or so (the target is 1 s; the tests
allow 5), whether they replay a backlog, are busy or idle, and it is refused next time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from services.access.tokens import IssuedToken, create_token, revoke_token
from services.store.database import create_engine, create_schema
from tests.support.hub import Hub, make_env
from tests.support.pipeline import answers_ok
from tests.support.sse_client import SseClient
from tests.support.view_rows import seed_rows
from tests.support.view_topics import publish_view_rows
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

BACKLOG = 20_000  # resident_profile changes on the topic before any client comes
BOUND_S = 5.0  # generous: the target is 1 s (two allowance intervals)
COMMUNITY = "110105001001"


@dataclass
class Api:
    """An API process over a view topic that already holds a large backlog."""

    url: str
    engine: sa.Engine

    def token(self) -> IssuedToken:
        return create_token(self.engine, audience="health-department")

    def subscribe(self, token: IssuedToken, last_event_id: str | None = None) -> SseClient:
        headers = {"Authorization": f"Bearer {token.secret}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        client = SseClient(f"{self.url}/subscribe/resident_profile", headers)
        wait_for(lambda: "subscribed" in client.comments, 30, what="the subscription")
        return client

    def status_for(self, token: IssuedToken) -> int:
        headers = {"Authorization": f"Bearer {token.secret}"}
        return httpx.get(
            f"{self.url}/views/resident_profile", headers=headers, timeout=10
        ).status_code


@pytest.fixture(scope="module")
def api(start_broker: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("revocation")
    # Heartbeats far apart: an idle stream must not need one to notice a revocation.
    env = make_env(
        start_broker(),
        f"sqlite:///{tmp / 'views.db'}",
        tmp / "var",
        DATONG_SUBSCRIBE_HEARTBEAT_S="60",
    )
    engine = create_engine(env["DATONG_DATABASE_URL"])
    create_schema(engine)
    rows = [
        r for r in seed_rows([COMMUNITY], per_community=BACKLOG) if r.view == "resident_profile"
    ]
    publish_view_rows(env["DATONG_KAFKA_BOOTSTRAP"], engine, rows)
    hub = Hub(env, tmp)
    try:
        hub.start("api")
        url = f"http://127.0.0.1:{env['DATONG_API_PORT']}"
        hub.wait_for(lambda: answers_ok(f"{url}/readyz"), "the API")
        yield Api(url, engine)
    finally:
        hub.stop()
        engine.dispose()


def test_a_stream_replaying_a_backlog_ends_soon_after_its_token_is_revoked(api: Api) -> None:
    token = api.token()
    client = api.subscribe(token, last_event_id="0:0")  # from the start: the whole backlog
    try:
        wait_for(lambda: len(client.events) >= 200, 30, what="the replay to be under way")
        revoke_token(api.engine, token.info.id)
        revoked_at = time.monotonic()
        seen_at_revocation = len(client.events)
        wait_for(lambda: client.ended, BOUND_S, what="the stream to end after revocation")
        ended_after_s = time.monotonic() - revoked_at
    finally:
        client.close()
    after = len(client.events) - seen_at_revocation
    assert after < BACKLOG - seen_at_revocation, "the whole backlog came after revocation"
    assert ended_after_s < BOUND_S
    assert api.status_for(token) == 401


def test_an_idle_stream_ends_soon_after_its_token_is_revoked(api: Api) -> None:
    token = api.token()
    client = api.subscribe(token)  # from now: nothing comes
    try:
        revoke_token(api.engine, token.info.id)
        wait_for(lambda: client.ended, BOUND_S, what="the idle stream to end after revocation")
    finally:
        client.close()
    assert client.events == []
    assert api.status_for(token) == 401


def test_a_stream_whose_token_holds_goes_on_replaying(api: Api) -> None:
    token = api.token()
    client = api.subscribe(token, last_event_id="0:0")
    try:
        wait_for(lambda: len(client.events) >= 2000, 60, what="a good part of the backlog")
        time.sleep(1.0)  # a few allowance intervals: each lookup says yes
        assert not client.ended
        assert len(client.events) > 2000
    finally:
        client.close()
