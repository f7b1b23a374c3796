"""DATONG_TOPICS: a process creates the topics it misses (manage) or stops naming them
(require), and it never picks a replication factor of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from kafka import KafkaAdminClient

from schemas.catalog import Catalog
from services.errors import MissingTopicsError
from services.topics import prepare_topics, topic_specs
from tests.support.api_tokens import reader_headers
from tests.support.hub import Hub

pytestmark = pytest.mark.integration


def test_manage_creates_the_missing_topics_with_the_brokers_default_replication(
    start_broker: Callable[[], str],
) -> None:
    bootstrap = start_broker()
    specs = topic_specs(Catalog.load(), 2)

    created = prepare_topics("manage", bootstrap, specs)

    assert sorted(created) == sorted(s.name for s in specs)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = admin.describe_topics([specs[0].name])
    finally:
        admin.close()
    # The embedded broker's default is its one copy; a real cluster's is its own setting.
    assert {len(p["replica_nodes"]) for p in described[0]["partitions"]} == {1}
    assert prepare_topics("require", bootstrap, specs) == []  # all there now


def test_require_names_every_missing_topic_and_how_to_create_them(
    start_broker: Callable[[], str],
) -> None:
    bootstrap = start_broker()
    specs = topic_specs(Catalog.load(), 2)
    prepare_topics("manage", bootstrap, specs[1:])

    with pytest.raises(MissingTopicsError) as raised:
        prepare_topics("require", bootstrap, specs)

    message = str(raised.value)
    assert f"1 topic(s) missing on {bootstrap}: {specs[0].name};" in message
    assert "deploy/k8s/topics.yaml" in message
    assert "datong deploy render-topics" in message


@pytest.mark.parametrize(
    "command",
    [
        ("worker",),
        ("connector", "run", "health", "--watch", "--source", "{drop}"),
    ],
    ids=["worker", "connector"],
)
def test_a_process_in_require_mode_stops_naming_the_missing_topics(
    command: tuple[str, ...],
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    tmp_path: Path,
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    hub = make_hub(start_broker(), f"sqlite:///{tmp_path / 'views.db'}", DATONG_TOPICS="require")

    process = hub.start(*(part.format(drop=drop) for part in command), long_running=False)

    assert process.wait(120) == 2, hub.logs()[-3000:]
    logs = hub.logs()
    assert "topic(s) missing on" in logs
    assert "src.health." in logs and "view.resident_profile" in logs
    assert "deploy/k8s/topics.yaml" in logs
    admin = KafkaAdminClient(bootstrap_servers=hub.env["DATONG_KAFKA_BOOTSTRAP"])
    try:
        assert admin.list_topics() == []  # nothing was created behind the operator's back
    finally:
        admin.close()


def test_an_api_in_require_mode_serves_reads_and_names_the_view_topics_it_cannot_follow(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'views.db'}"
    hub = make_hub(start_broker(), database_url, DATONG_TOPICS="require")
    hub.start("api")
    base = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"
    hub.wait_for(lambda: _status(f"{base}/readyz") == 200, "the API ready")

    subscribed = httpx.get(
        f"{base}/subscribe/resident_profile", headers=reader_headers(database_url), timeout=60
    )

    assert subscribed.status_code == 503  # no view topic to follow, and none created
    readiness = httpx.get(f"{base}/readyz", timeout=10)
    assert readiness.status_code == 200  # reads need the view store only
    state = readiness.json()["subscriptions"]
    assert state.startswith("retrying: 4 topic(s) missing on"), state
    assert "view.resident_profile" in state


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.TransportError:
        return None
