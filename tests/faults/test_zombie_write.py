"""The rebalance fault made deterministic: a zombie worker's batch, read before it was paused,
written after its partitions were merged further by another worker.

The test holds SQLite's write lock while the first worker fetches a batch of moves, so the
worker is caught between reading the rows and writing them; it is then paused (SIGSTOP) past
its session timeout, the lock released, and a second worker of the group merges that batch,
newer moves of the same residents and more, and commits their offsets. Then the zombie wakes.
Its late write must undo nothing, and both workers' lag must return to zero.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from services.broker import EmbeddedBroker, free_port
from tests.support.expected_views import Expected, expected_of, stored_differences
from tests.support.factories import RegistryRow, registry_rows
from tests.support.faults.harness import (
    assert_converged,
    committed,
    deliver,
    merged,
    new_hub,
    settled,
    wait_settled,
    worker_metrics,
)
from tests.support.faults.monitor import VersionMonitor
from tests.support.faults.switches import seeded
from tests.support.faults.workload import registry_events
from tests.support.hub import Hub
from tests.support.oracle.compare import account, differences
from tests.support.stored_views import stored_views

pytestmark = pytest.mark.integration

MOVED = "src.public-security.resident-moved"
DEREGISTERED = "src.public-security.resident-deregistered"
RESIDENTS = 200


@dataclass
class Woken:
    """Two workers of one group after the zombie among them woke up and wrote its batch."""

    zombie: Hub
    heir: Hub
    url: str
    expected: Expected
    monitor: VersionMonitor
    right_after: dict[str, dict[str, Any]]  # the views the moment the zombie's batch was written
    first_batch_lag: float  # the zombie's lag on a topic whose first batch it was blocked on


def _moves(rows: list[RegistryRow], month: int) -> list[RegistryRow]:
    return [
        RegistryRow(
            f"M{month}{i:06d}",
            row.id_number,
            action="迁移",
            dwelling_id=f"D-M{month}-{i}",
            address=f"M{month}-{i}号",
            effective=f"2025-{month:02d}-01 08:00",
        )
        for i, row in enumerate(rows)
    ]


def _lag(hub: Hub, topic: str = MOVED) -> float:
    metrics = worker_metrics(hub)
    return sum(v for (t, _), v in metrics.lag.items() if t == topic) if metrics else 0.0


def _deregistrations(rows: list[RegistryRow]) -> list[RegistryRow]:
    return [
        RegistryRow(f"DX{i:06d}", row.id_number, action="迁出", effective="2025-06-01 08:00")
        for i, row in enumerate(rows)
    ]


def _most(measure: Callable[[], float], seconds: float) -> float:
    """The largest value ``measure`` gives over ``seconds`` (lag is refreshed every 2 s)."""
    deadline, most = time.monotonic() + seconds, 0.0
    while time.monotonic() < deadline:
        most = max(most, measure())
        time.sleep(0.25)
    return most


@pytest.fixture(scope="module")
def woken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Woken]:
    """Run the scenario once for the module's tests."""
    rng = seeded(__name__)
    tmp = tmp_path_factory.mktemp("zombie")
    broker = EmbeddedBroker(free_port(), log_path=tmp / "broker.log")
    broker.start()
    url = f"sqlite:///{tmp / 'views.db'}"
    zombie = new_hub(broker.bootstrap, url, tmp / "zombie")
    same = ("DATONG_HMAC_KEY", "DATONG_SEAL_KEY", "DATONG_CONSUMER_GROUP")
    heir = new_hub(broker.bootstrap, url, tmp / "heir", **{k: zombie.env[k] for k in same})
    try:
        yield _wake(zombie, heir, url, tmp / "views.db", rng.randint(0, 2**31))
    finally:
        for hub in (zombie, heir):
            for process in hub.processes:
                process.send_signal(signal.SIGCONT)
            hub.stop()
        broker.stop()


def _wake(zombie: Hub, heir: Hub, url: str, path: object, seed: int) -> Woken:
    rows = registry_rows(RESIDENTS, seed=seed)
    # Three rounds of moves: the first so that the zombie's lag can show its blocked batch
    # (before a worker merged anything on a partition, it reports its fetch position).
    moves = [_moves(rows, month) for month in (1, 2, 3)]
    later = registry_rows(50, seed=seed + 1, start=1000)  # so that the heir acks the moves
    leaving = registry_rows(20, seed=seed + 2, start=2000)
    key = zombie.settings.hmac_key
    every = rows + leaving + _deregistrations(leaving) + later + [m for ms in moves for m in ms]
    expected = expected_of(registry_events(every, key), key)
    deliver(zombie, registry_events(rows + leaving + moves[0], key))
    paused = zombie.start("worker")
    monitor = VersionMonitor(url).start()
    zombie.wait_for(lambda: merged(zombie) >= 2 * RESIDENTS + 20, "the first events to merge")
    lock = sqlite3.connect(str(path), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the next batch is read, then waits to be written
    deliver(zombie, registry_events(moves[1] + _deregistrations(leaving), key))
    zombie.wait_for(lambda: _lag(zombie) > 0, "the zombie to fetch the moves and block")
    first_batch_lag = _most(partial(_lag, zombie, DEREGISTERED), 4.0)
    before = merged(zombie)
    paused.send_signal(signal.SIGSTOP)
    try:
        lock.execute("ROLLBACK")
        lock.close()
        heir.start("worker")
        deliver(zombie, registry_events(moves[2] + later, key))
        heir.wait_for(lambda: not stored_differences(url, expected), "the heir to merge it all")
        heir.wait_for(lambda: committed(heir, MOVED) == 3 * RESIDENTS, "the moves' offsets")
    finally:
        paused.send_signal(signal.SIGCONT)
    zombie.wait_for(lambda: merged(zombie) > before, "the zombie to write its batch")
    return Woken(zombie, heir, url, expected, monitor, stored_views(url), first_batch_lag)


def test_a_zombie_workers_late_write_undoes_no_newer_row(woken: Woken) -> None:
    # Looked at the moment it was written: a later rebalance may replay newer events over a
    # stale write and hide it.
    found = differences(woken.expected.views, woken.right_after)
    assert not found, account(found)
    assert_converged(
        [woken.zombie, woken.heir], woken.url, woken.expected, woken.monitor, [woken.heir]
    )


def test_a_worker_stuck_on_a_partitions_first_batch_reports_its_lag(woken: Woken) -> None:
    assert woken.first_batch_lag > 0, "20 deregistrations fetched and not merged"


def test_a_zombie_worker_given_its_partitions_back_reports_zero_lag(woken: Woken) -> None:
    found = stored_differences(woken.url, woken.expected)
    assert not found, account(found)
    wait_settled([woken.heir, woken.zombie], "both workers' lag to reach 0", timeout_s=10)
    assert settled(woken.zombie)
