"""GET /subscribe/{view}: view changes as Server-Sent Events, from one shared consumer."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.base import Event
from connectors.identity import person_key
from connectors.mappings.household_register import HouseholdRegisterMapping
from connectors.publisher import KafkaPublisher
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.access.audit import find_reads
from services.access.tokens import create_token, revoke_token
from services.broker import free_port
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry
from tests.support.api_tokens import reader_headers
from tests.support.factories import REGISTRY_HEADER, RegistryRow, health_event, registry_rows
from tests.support.hub import Hub, make_env
from tests.support.pipeline import answers_ok
from tests.support.sse_client import SseClient
from tests.support.topics import read_topic
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
BUFFER = 4  # changes per view the hub keeps for resuming clients; older gaps come from Kafka


@dataclass
class Live:
    """One hub (worker + API) on a fresh broker, and a way to feed it and read it."""

    hub: Hub
    publisher: KafkaPublisher
    api: str
    reader: dict[str, str]  # health-department: every community, health status included

    def publish(self, *events: Event) -> None:
        for event in events:
            self.publisher.publish(event)
        self.publisher.flush()

    def register(self, row: RegistryRow) -> str:
        """Register a resident through the public-security mapping; return its person_key."""
        mapping = HouseholdRegisterMapping(self.hub.settings.hmac_key)
        self.publish(mapping(dict(zip(REGISTRY_HEADER, row.cells(), strict=True))))
        return person_key(row.id_number, self.hub.settings.hmac_key)

    def health(self, key: str, status: str, at: datetime) -> None:
        self.publish(Event("health", "health-status-changed", key, health_event(key, status, at)))

    def subscribe(
        self,
        view: str,
        last_event_id: str | None = None,
        token: dict[str, str] | None = None,
        **query: str,
    ) -> SseClient:
        headers = dict(token or self.reader)
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        params = "&".join(f"{k}={v}" for k, v in query.items())
        client = SseClient(f"{self.api}/subscribe/{view}?{params}", headers)
        wait_for(lambda: client.status is not None, 30, what=f"the {view} subscription")
        assert client.status == 200, client.body
        return client

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.api}{path}", headers=self.reader, timeout=5)

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.api}/metrics", timeout=5).text
        found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0


@pytest.fixture(scope="module")
def live(
    start_broker: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live")
    env = make_env(
        start_broker(),
        f"sqlite:///{tmp / 'views.db'}",
        tmp / "var",
        DATONG_SUBSCRIBE_HEARTBEAT_S="0.3",
        DATONG_SUBSCRIBE_BUFFER=str(BUFFER),
    )
    hub = Hub(env, tmp)
    engine = create_engine(env["DATONG_DATABASE_URL"])
    create_schema(engine)
    publisher = KafkaPublisher(hub.settings.bootstrap, Serde(Catalog.load(), SqlRegistry(engine)))
    try:
        hub.start("worker")
        hub.start("api")
        api = f"http://127.0.0.1:{env['DATONG_API_PORT']}"
        hub.wait_for(lambda: answers_ok(f"{api}/readyz"), "the API")
        yield Live(hub, publisher, api, reader_headers(env["DATONG_DATABASE_URL"]))
    finally:
        publisher.close()
        hub.stop()
        engine.dispose()


def rows(seed: int, count: int, community: str = "C001") -> list[RegistryRow]:
    """Registrations in one community, with serials unique to the seed."""
    made = registry_rows(count, seed=seed, start=seed * 100)
    for row in made:
        row.community = community
    return made


def changes_of(client: SseClient, key: str) -> list[dict[str, Any]]:
    return [e.data for e in client.of_kind("change") if e.data["person_key"] == key]


def statuses(client: SseClient, key: str) -> list[str | None]:
    return [data.get("health_status") for data in changes_of(client, key)]


def topic_statuses(live: Live, key: str, expect: int) -> list[str | None]:
    """The health_status of every record of ``key`` on view.resident_profile, in offset order."""
    serde = Serde(Catalog.load(), SqlRegistry(create_engine(live.hub.settings.database_url)))
    contract = Catalog.load().view("resident_profile")
    records = [
        r
        for r in read_topic(live.hub.settings.bootstrap, "view.resident_profile", expect=expect)
        if r.key == key.encode()
    ]
    return [
        serde.decode(contract, r.value)["health_status"] if r.value is not None else "<deleted>"
        for r in sorted(records, key=lambda r: r.offset)
    ]


def test_a_change_arrives_as_the_record_the_view_route_serves_and_a_deregistration_as_a_delete(
    live: Live,
) -> None:
    client = live.subscribe("resident_profile")
    try:
        row = rows(1, 1)[0]
        key = live.register(row)
        wait_for(lambda: changes_of(client, key), what="the registration's change event")
        served = live.get(f"/views/resident_profile/{key}").json()
        streamed = changes_of(client, key)[-1]
        assert streamed == served
        assert row.id_number not in str(client.events) and row.name not in str(client.events)

        gone = RegistryRow("RB1999999", row.id_number, action="死亡注销", effective="2031-01-01")
        live.register(gone)
        wait_for(lambda: client.of_kind("delete"), what="the delete event")
        assert client.of_kind("delete")[-1].data == {"key": key}
    finally:
        client.close()


@pytest.mark.parametrize("missed", [1, BUFFER + 3], ids=["from-the-buffer", "from-kafka"])
def test_a_client_resuming_with_last_event_id_gets_every_change_it_missed_once(
    live: Live, missed: int
) -> None:
    key = live.register(rows(10 + missed, 1)[0])
    first = live.subscribe("resident_profile")
    live.health(key, "GREEN", T0)
    wait_for(lambda: "GREEN" in statuses(first, key), what="the first change")
    first.close()
    for i in range(missed):  # each change is merged and published before the next
        _change_status(live, key, ["YELLOW", "RED"][i % 2], T0 + timedelta(minutes=i + 1))

    resumed = live.subscribe("resident_profile", first.last_event_id)
    try:
        on_topic = topic_statuses(live, key, expect=missed + 2)
        expected = on_topic[on_topic.index("GREEN") :]
        wait_for(
            lambda: since_green(statuses(first, key) + statuses(resumed, key)) == expected,
            what=f"the {missed} missed changes, each once",
        )
        assert len(expected) == missed + 1
        wait_for(lambda: live.metric("datong_subscription_consumers") == 1, what="catch-up done")
    finally:
        resumed.close()


def since_green(seen: list[str | None]) -> list[str | None]:
    return seen[seen.index("GREEN") :] if "GREEN" in seen else []


def _change_status(live: Live, key: str, status: str, at: datetime) -> None:
    live.health(key, status, at)
    wait_for(lambda: _served_status(live, key) == status, what=f"the view to show {status}")


def _served_status(live: Live, key: str) -> str | None:
    response = live.get(f"/views/resident_profile/{key}")
    return response.json().get("health_status") if response.status_code == 200 else None


def test_an_idle_stream_gets_heartbeat_comments(live: Live) -> None:
    client = live.subscribe("resident_profile", community="NO-SUCH-COMMUNITY")
    try:
        wait_for(lambda: client.comments.count("heartbeat") >= 2, 10, what="two heartbeats")
        assert client.events == []
    finally:
        client.close()


def test_a_community_subscriber_sees_its_community_only_and_a_move_out_as_a_delete(
    live: Live,
) -> None:
    north = live.subscribe("resident_profile", community="N01")
    south = live.subscribe("resident_profile", community="S01")
    try:
        stays, leaves = rows(30, 2, community="N01")
        elsewhere = rows(31, 1, community="S01")[0]
        kept, moving, other = (live.register(r) for r in (stays, leaves, elsewhere))
        wait_for(lambda: changes_of(north, moving) and changes_of(south, other), what="changes")
        assert {e.data["community_code"] for e in north.of_kind("change")} == {"N01"}
        assert {e.data["community_code"] for e in south.of_kind("change")} == {"S01"}
        assert changes_of(north, kept)

        move = RegistryRow(
            "RB3999999",
            leaves.id_number,
            action="迁移",
            community="S01",
            dwelling_id="D-S",
            effective="2030-01-01 08:00:00",
        )
        live.register(move)
        wait_for(lambda: changes_of(south, moving), what="the mover in the south")
        wait_for(lambda: north.of_kind("delete"), what="the mover leaving the north")
        assert [e.data for e in north.of_kind("delete")] == [{"key": moving}]
    finally:
        north.close()
        south.close()


def test_many_subscribers_share_one_kafka_consumer(live: Live) -> None:
    clients = [live.subscribe("resident_profile", community="M01") for _ in range(12)]
    try:
        wait_for(
            lambda: live.metric('datong_subscribers{view="resident_profile"}') == 12,
            what="12 subscribers",
        )
        assert live.metric("datong_subscription_consumers") == 1
        key = live.register(rows(40, 1, community="M01")[0])
        wait_for(
            lambda: all(changes_of(c, key) for c in clients), what="the change at every client"
        )
    finally:
        for client in clients:
            client.close()
    wait_for(
        lambda: live.metric('datong_subscribers{view="resident_profile"}') == 0,
        what="the closed subscriptions to be forgotten",
    )


GRID = "grid-office-110105001001"  # the shipped policy's one-community audience
GRID_COMMUNITY = "110105001001"


def test_the_policy_shapes_every_event_fields_and_communities_alike(live: Live) -> None:
    url = live.hub.env["DATONG_DATABASE_URL"]
    care = live.subscribe("resident_profile", token=reader_headers(url, "civil-affairs"))
    grid = live.subscribe("resident_profile", token=reader_headers(url, GRID))
    try:
        inside = live.register(rows(50, 1, community=GRID_COMMUNITY)[0])
        outside = live.register(rows(51, 1, community="110105001002")[0])
        wait_for(lambda: changes_of(grid, inside) and changes_of(care, outside), what="changes")
        live.health(inside, "RED", T0)
        wait_for(lambda: "RED" in statuses(grid, inside), what="the health change")
        wait_for(lambda: len(changes_of(care, inside)) >= 2, what="the health change, unseen")
        assert all("health_status" not in e.data for e in care.of_kind("change")), (
            "civil-affairs is not granted health_status"
        )
        assert "health_status" in changes_of(grid, inside)[-1]
        assert {e.data["community_code"] for e in grid.of_kind("change")} == {GRID_COMMUNITY}
    finally:
        care.close()
        grid.close()


def test_a_subscription_outside_the_grant_is_refused_and_audited(live: Live) -> None:
    url = live.hub.env["DATONG_DATABASE_URL"]
    grid = reader_headers(url, GRID)
    other = SseClient(f"{live.api}/subscribe/resident_profile?community=110105001002", grid)
    unknown = SseClient(f"{live.api}/subscribe/resident_profile", {"Authorization": "Bearer x"})
    try:
        wait_for(lambda: other.status and unknown.status, 30, what="the answers")
    finally:
        other.close()
        unknown.close()
    assert (other.status, unknown.status) == (403, 401)
    engine = create_engine(url)
    reads = find_reads(engine, audience=GRID, view="resident_profile")
    engine.dispose()
    assert [(r.operation, r.status) for r in reads][-1:] == [("subscribe", 403)]


def test_a_revoked_token_ends_its_open_stream(live: Live) -> None:
    url = live.hub.env["DATONG_DATABASE_URL"]
    engine = create_engine(url)
    issued = create_token(engine, audience="health-department")
    client = live.subscribe(
        "alert", token={"Authorization": f"Bearer {issued.secret}"}, community="N01"
    )
    revoke_token(engine, issued.info.id)
    try:
        wait_for(lambda: client.ended, 10, what="the stream to end")
    finally:
        client.close()
    reads = find_reads(engine, audience="health-department", view="alert")
    # It ended before any event: a read of nothing keeps only its route and parameter names.
    assert [(r.operation, r.status, r.rows, r.query) for r in reads][-1:] == [
        ("subscribe", 200, 0, {"route": "/subscribe/{view}", "parameters": ["community"]})
    ]
    engine.dispose()


def test_an_api_shutting_down_ends_its_open_streams_cleanly_first(live: Live) -> None:
    second = Hub({**live.hub.env, "DATONG_API_PORT": str(free_port())}, live.hub.tmp)
    api = second.start("api")
    url = f"http://127.0.0.1:{second.env['DATONG_API_PORT']}"
    second.wait_for(lambda: answers_ok(f"{url}/healthz"), "the second API")
    client = SseClient(f"{url}/subscribe/alert", live.reader)
    try:
        wait_for(lambda: "subscribed" in client.comments, 30, what="the subscription")
        second.kill(api, signal.SIGTERM)
        assert api.returncode in (0, -signal.SIGTERM)
        wait_for(lambda: client.ended, 10, what="the stream's clean end")
    finally:
        client.close()


def test_a_subscriber_gets_no_alert_of_a_type_its_policy_does_not_grant(live: Live) -> None:
    # civil-affairs reads no health status, so no RED_STATUS alert: nothing of it reaches
    # civil affairs, not its opening, not its closing, not even as a delete of its id.
    civil = live.subscribe(
        "alert",
        token=reader_headers(live.hub.env["DATONG_DATABASE_URL"], "civil-affairs"),
        community="C077",
    )
    health = live.subscribe("alert", community="C077")
    try:
        (row,) = rows(77, 1, "C077")
        key = live.register(row)
        live.health(key, "RED", T0 + timedelta(hours=1))
        wait_for(lambda: health.of_kind("change"), 60, what="the RED_STATUS alert, for health")
        ((alert_id, alert_type),) = {
            (e.data["alert_id"], e.data["alert_type"]) for e in health.of_kind("change")
        }
        assert alert_type == "RED_STATUS" and key not in alert_id
        live.health(key, "GREEN", T0 + timedelta(hours=2))
        wait_for(
            lambda: any(e.data["key"] == alert_id for e in health.of_kind("delete")),
            60,
            what="the alert's deletion, for health",
        )
        # Both streams are offered each change at once: one more second for civil's to write.
        time.sleep(1.0)
    finally:
        civil.close()
        health.close()
    assert civil.of_kind("change") == [] and civil.of_kind("delete") == []
