"""Probes that tell the truth: the API is ready while its view store answers, whatever the
broker does; a worker's or connector's /healthz fails when its loop stands still with work
waiting, and passes when it is idle."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from services.api.readiness import CHECK_CACHE_S
from services.broker import EmbeddedBroker, free_port
from tests.support.factories import registry_rows, write_registry_csv
from tests.support.faults.broker import resume
from tests.support.faults.harness import deliver, worker_metrics
from tests.support.faults.workload import resident_events
from tests.support.hub import Hub
from tests.support.machine import POSTGRES_URL

pytestmark = pytest.mark.integration

STALL = {"DATONG_LIVENESS_STALL_S": "3"}


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of this test's own, to stop or pause."""
    broker = EmbeddedBroker(free_port(), log_path=tmp_path / "broker.log")
    broker.start()
    yield broker
    resume(broker)
    broker.stop()


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=10)
    except httpx.TransportError:
        return None


def _answers(url: str, status: int) -> dict[str, object] | None:
    """The JSON body of ``url`` when it answers with ``status``, else None."""
    response = _get(url)
    if response is None or response.status_code != status:
        return None
    body: dict[str, object] = response.json()
    return body


def test_readyz_stays_ready_with_the_broker_down_while_the_view_store_answers(
    own_broker: EmbeddedBroker, make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    hub = make_hub(own_broker.bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    hub.start("api")
    readyz = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}/readyz"
    hub.wait_for(lambda: _answers(readyz, 200), "the API ready")

    own_broker.stop()
    time.sleep(CHECK_CACHE_S + 1)  # the next answer comes from a check made without a broker

    body = _answers(readyz, 200)
    assert body is not None
    assert body["checks"] == {"database": "ok"}
    assert body["subscriptions"] == "not started"


def test_readyz_is_not_ready_when_the_view_store_is_gone(
    broker: str, make_hub: Callable[..., Hub]
) -> None:
    name = "datong_t_readyz_" + os.urandom(4).hex()
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name)
    try:
        hub = make_hub(broker, url.render_as_string(hide_password=False))
        hub.start("api")
        readyz = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}/readyz"
        hub.wait_for(lambda: _answers(readyz, 200), "the API ready")

        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))

        body = hub.wait_for(lambda: _answers(readyz, 503), "the API not ready")
        assert str(body["checks"]["database"]).startswith("error: ")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_stuck_with_lag_fails_its_liveness_and_recovers_when_unstuck(
    start_broker: Callable[[], str], database_url: str, make_hub: Callable[..., Hub]
) -> None:
    hub = make_hub(start_broker(), database_url, **STALL)  # empty topics: idle at first
    hub.start("worker")
    healthz = f"http://127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}/healthz"
    hub.wait_for(lambda: (m := worker_metrics(hub)) is not None and m.lag, "partitions assigned")
    idle = hub.wait_for(lambda: _answers(healthz, 200), "an idle worker alive")
    assert idle == {"status": "ok", "loop": "idle: nothing waiting"}

    # A database that holds the merge's table locked: the worker fetches, and cannot merge.
    locker = sa.create_engine(database_url)
    with locker.connect() as conn:
        conn.execute(sa.text("LOCK TABLE view_row IN ACCESS EXCLUSIVE MODE"))
        deliver(hub, resident_events(20, hub.settings.hmac_key, random.Random(16)))
        stuck = hub.wait_for(lambda: _answers(healthz, 503), "the stuck worker's 503")
        assert stuck["status"] == "stuck"
        assert "work waiting and no progress" in str(stuck["loop"])
        conn.rollback()
    locker.dispose()

    hub.wait_for(lambda: (m := worker_metrics(hub)) is not None and m.settled, "lag back to 0")
    assert _answers(healthz, 200) is not None


def test_a_watching_connector_is_alive_idle_and_stuck_while_its_broker_hangs(
    own_broker: EmbeddedBroker, make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    hub = make_hub(own_broker.bootstrap, f"sqlite:///{tmp_path / 'views.db'}", **STALL)
    hub.start("api")  # the schema registry the connector reads its ids from
    drop = tmp_path / "drop"
    drop.mkdir()
    command = ("connector", "run", "public-security", "--watch", "--interval", "0.2")
    hub.start(*command, "--source", str(drop), long_running=True)
    healthz = f"http://127.0.0.1:{hub.env['DATONG_CONNECTOR_METRICS_PORT']}/healthz"
    idle = hub.wait_for(lambda: _answers(healthz, 200), "an idle connector alive")
    assert idle["loop"] == "idle: nothing waiting"

    assert own_broker.pid is not None
    os.kill(own_broker.pid, signal.SIGSTOP)  # every request to the broker now hangs
    try:
        write_registry_csv(drop / "export.csv", registry_rows(50))
        stuck = hub.wait_for(lambda: _answers(healthz, 503), "the stuck connector's 503")
        assert "work waiting and no progress" in str(stuck["loop"])
    finally:
        os.kill(own_broker.pid, signal.SIGCONT)

    hub.wait_for((drop / "done" / "export.csv").exists, "the file published")
    hub.wait_for(lambda: _answers(healthz, 200), "the connector alive again")
