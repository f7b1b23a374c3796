"""PostgreSQL restarted while a worker writes batches: it retries and ends in the oracle's views.

The restart hits the machine's whole cluster, so it happens once per run, in a module
fixture; the tests read what the worker did through it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from services.broker import EmbeddedBroker, free_port
from tests.support.expected_views import Expected, expected_of
from tests.support.faults.harness import assert_converged, deliver, merged
from tests.support.faults.monitor import VersionMonitor
from tests.support.faults.postgres import restart_postgres
from tests.support.faults.switches import scale, seeded
from tests.support.faults.workload import resident_events
from tests.support.hub import Hub, make_env
from tests.support.machine import POSTGRES_URL

pytestmark = [pytest.mark.integration, pytest.mark.serial]

RETRY = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\S* .*view store write failed")


@dataclass
class Restarted:
    """A hub whose PostgreSQL was restarted while its worker merged a backlog."""

    hub: Hub
    database_url: str
    expected: Expected
    monitor: VersionMonitor
    down_s: float  # from the restart command to the first accepted query


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL for this module."""
    name = f"datong_f_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def restarted(
    postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Restarted]:
    """Restart PostgreSQL once the worker is seeded-far into a backlog of small batches."""
    rng = seeded(__name__)
    tmp = tmp_path_factory.mktemp("postgres-restart")
    broker = EmbeddedBroker(free_port(), log_path=tmp / "broker.log")
    broker.start()
    env = make_env(
        broker.bootstrap,
        postgres_database,
        tmp / "var",
        DATONG_BATCH_SIZE="20",
    )
    hub = Hub(env, tmp)
    try:
        events = resident_events(scale(800, 2000), hub.settings.hmac_key, rng)
        deliver(hub, events)
        monitor = VersionMonitor(postgres_database).start()
        hub.start("worker")
        at = len(events) * rng.uniform(0.1, 0.4)
        hub.wait_for(lambda: merged(hub) >= at, f"{at:.0f} events merged before the restart")
        down_s = restart_postgres()
        print(f"{len(events)} events; PostgreSQL restarted after {at:.0f}, down {down_s:.1f}s")
        yield Restarted(
            hub, postgres_database, expected_of(events, hub.settings.hmac_key), monitor, down_s
        )
    finally:
        hub.stop()
        broker.stop()


def _retries(hub: Hub) -> list[float]:
    """When the worker logged a failed batch write (seconds since the epoch)."""
    log = (hub.tmp / "worker-0.log").read_text(errors="replace")
    return [
        time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000
        for stamp, millis in RETRY.findall(log)
    ]


def test_a_worker_rides_through_a_postgres_restart_to_the_oracle(restarted: Restarted) -> None:
    hub = restarted.hub
    assert_converged([hub], restarted.database_url, restarted.expected, restarted.monitor)
    assert hub.processes[0].poll() is None, "the worker is still running"
    retries = _retries(hub)
    print(f"{len(retries)} failed batch writes retried")
    assert retries, "the restart hit a batch write (else this fault tested nothing)"


def test_a_worker_backs_off_while_postgres_is_down(restarted: Restarted) -> None:
    retries = _retries(restarted.hub)
    assert retries, "the restart hit a batch write"
    # Backing off from 0.2 s, doubling up to 5 s: a handful of attempts per outage.
    span = retries[-1] - retries[0]
    assert len(retries) <= 3 + restarted.down_s / 0.2, f"{len(retries)} retries in {span:.2f}s"
