"""SIGKILL of a merge worker inside and between its batch transactions, again and again.

No product hooks: batches of 20 flow from a backlog while the worker is killed at seeded
moments; on PostgreSQL the moment is chosen by watching pg_stat_activity, so that some kills
land while the batch transaction is open (before its commit) and some between transactions
(after a commit, before the offsets are). Every restart must end in the folded truth.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from functools import partial

import pytest

from services.broker import EmbeddedBroker
from tests.support.faults.harness import assert_converged, deliver, merged, merged_at_least
from tests.support.faults.monitor import VersionMonitor
from tests.support.faults.postgres import TransactionProbe
from tests.support.faults.switches import POSTGRES_BACKENDS, scale
from tests.support.faults.truth import truth_of
from tests.support.faults.workload import resident_events
from tests.support.hub import Hub

pytestmark = pytest.mark.integration

SMALL_BATCHES = {"DATONG_BATCH_SIZE": "20"}


def _kill(
    hub: Hub,
    worker: subprocess.Popen[bytes],
    inside: bool,
    rng: random.Random,
    probe: TransactionProbe | None,
) -> str:
    """SIGKILL the worker inside (or between) batch transactions; return where it landed."""
    if probe is None:
        time.sleep(rng.uniform(0, 0.05))  # SQLite shows no sessions: a seeded moment instead
        where = "unobserved"
    else:
        where = "inside" if probe.wait_for(inside=inside) else "between"
    hub.kill(worker, signal.SIGKILL)
    return where


@pytest.mark.parametrize("database_url", POSTGRES_BACKENDS, indirect=True)
def test_a_worker_killed_inside_and_between_transactions_converges_to_the_truth(
    fault_rng: random.Random,
    fault_broker: EmbeddedBroker,
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(fault_broker.bootstrap, database_url, **SMALL_BATCHES)
    events = resident_events(scale(400, 2000), hub.settings.hmac_key, fault_rng)
    truth = truth_of(events)
    deliver(hub, events)
    kills = scale(3, 10)
    fractions = sorted(fault_rng.uniform(0.05, 0.9) for _ in range(kills))
    inside = [i % 2 == 0 for i in range(kills)]  # half before a commit, half after one
    fault_rng.shuffle(inside)
    probe = TransactionProbe(database_url) if database_url.startswith("postgresql") else None
    landed: Counter[str] = Counter()
    with VersionMonitor(database_url) as monitor:
        progress = 0.0
        for fraction, in_transaction in zip(fractions, inside, strict=True):
            worker = hub.start("worker")
            target = max(1.0, len(events) * fraction - progress)
            hub.wait_for(partial(merged_at_least, hub, target), f"{target:.0f} events merged")
            progress += merged(hub)
            landed[_kill(hub, worker, in_transaction, fault_rng, probe)] += 1
        hub.start("worker")
        print(f"{len(events)} events, kills at {[round(f, 2) for f in fractions]}: {dict(landed)}")
        assert_converged([hub], database_url, truth, monitor)
    if probe is not None:
        probe.close()
