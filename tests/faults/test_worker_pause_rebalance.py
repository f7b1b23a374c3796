"""SIGSTOP of a merge worker past its session timeout while a second worker takes over.

The paused worker is a zombie: its group forgets it, the other worker is given its partitions
and merges newer events on the same residents, and then the zombie wakes up in the middle of
whatever it was doing (on PostgreSQL: chosen to be inside a batch transaction when the seed
says so). Both must keep running, no version may go backwards, and the views must end equal
to the oracle's.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable

import pytest

from services.broker import EmbeddedBroker
from tests.support.expected_views import expected_of
from tests.support.faults.harness import assert_converged, deliver, merged
from tests.support.faults.monitor import VersionMonitor
from tests.support.faults.postgres import TransactionProbe, named
from tests.support.faults.switches import POSTGRES_BACKENDS, scale
from tests.support.faults.workload import resident_events
from tests.support.hub import Hub

pytestmark = pytest.mark.integration

SESSION_TIMEOUT_S = 3.0
PAUSE_S = 8.0


@pytest.mark.parametrize("database_url", POSTGRES_BACKENDS, indirect=True)
def test_a_worker_paused_past_its_session_timeout_leaves_the_views_true(
    fault_rng: random.Random,
    fault_broker: EmbeddedBroker,
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    settings = {
        "DATONG_SESSION_TIMEOUT_S": str(SESSION_TIMEOUT_S),
        "DATONG_BATCH_SIZE": "20",
    }
    zombie = make_hub(fault_broker.bootstrap, named(database_url, "worker-zombie"), **settings)
    shared = {
        k: zombie.env[k] for k in ("DATONG_HMAC_KEY", "DATONG_SEAL_KEY", "DATONG_CONSUMER_GROUP")
    }
    heir = make_hub(
        fault_broker.bootstrap, named(database_url, "worker-heir"), **settings, **shared
    )
    events = resident_events(scale(300, 1000), zombie.settings.hmac_key, fault_rng)
    split = len(events) // 2
    deliver(zombie, events[:split])
    probe = TransactionProbe(database_url) if database_url.startswith("postgresql") else None
    with VersionMonitor(database_url) as monitor:
        paused = zombie.start("worker")
        zombie.wait_for(lambda: merged(zombie) > 0, "the first worker to merge")
        heir.start("worker")
        heir.wait_for(lambda: merged(heir) > 0 or merged(zombie) >= split, "the second to join")
        time.sleep(fault_rng.uniform(0, 1.0))
        inside = fault_rng.random() < 0.5
        landed = probe.wait_for(inside, "worker-zombie") if probe else None
        paused.send_signal(signal.SIGSTOP)
        try:
            before = merged(heir)
            deliver(zombie, events[split:])  # newer versions of the same residents meanwhile
            deadline = time.monotonic() + PAUSE_S
            heir.wait_for(lambda: merged(heir) > before, "the second worker to take over")
            time.sleep(max(0.0, deadline - time.monotonic()))
        finally:
            paused.send_signal(signal.SIGCONT)
        print(f"{len(events)} events; paused inside a transaction: {landed} (drawn {inside})")
        assert_converged(
            [heir, zombie], database_url, expected_of(events, heir.settings.hmac_key), monitor
        )
    assert paused.poll() is None and heir.processes[0].poll() is None, "both keep running"
    if probe is not None:
        probe.close()
