"""The broker unreachable for 10 s (5 s in the quick form) while a connector publishes and a
worker merges: SIGSTOP of the embedded broker's process, then SIGCONT.

Clients see their requests time out and their group sessions lapse, as with a partitioned
broker. Nothing may be lost or doubled: the connector finishes its file, the worker rejoins
and the views end equal to the oracle's, with the lag back at zero.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Callable

import pytest

from services.broker import EmbeddedBroker
from tests.support.expected_views import expected_of
from tests.support.factories import registry_rows, write_registry_csv
from tests.support.faults.broker import broker_pid, resume
from tests.support.faults.harness import assert_converged, deliver, settled, wait_checkpoint
from tests.support.faults.monitor import VersionMonitor
from tests.support.faults.switches import BACKENDS, scale
from tests.support.faults.workload import change_rows, every_rule_events, registry_events
from tests.support.hub import Hub

pytestmark = pytest.mark.integration

PAUSE_S = scale(5.0, 10.0)


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_broker_unreachable_for_seconds_loses_and_doubles_nothing(
    fault_rng: random.Random,
    fault_broker: EmbeddedBroker,
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(fault_broker.bootstrap, database_url, DATONG_BATCH_SIZE="100")
    registrations = registry_rows(scale(3000, 20_000), seed=fault_rng.randint(0, 2**31))
    rows = registrations + change_rows(registrations, len(registrations) // 5, fault_rng)
    fault_rng.shuffle(rows)
    source = write_registry_csv(hub.tmp / "registry.csv", rows)
    # Beside the registry file, the other departments' events of every rule, already merging
    # when the broker stops.
    others = every_rule_events(scale(20, 60), fault_rng)
    events = registry_events(rows, hub.settings.hmac_key) + others
    with VersionMonitor(database_url, interval_s=1.0) as monitor:
        hub.start("worker")
        hub.start("api")  # the connector looks its schema ids up in the API's registry
        hub.wait_for(lambda: settled(hub), "the worker to join its group")
        deliver(hub, others)
        connector = hub.start("connector", "run", "public-security", "--source", str(source))
        at = fault_rng.randrange(1000, len(rows) // 3, 1000)
        wait_checkpoint(hub, source, at, connector)
        os.kill(broker_pid(fault_broker), signal.SIGSTOP)
        assert connector.poll() is None, "the connector was publishing when the broker stopped"
        try:
            time.sleep(PAUSE_S)  # the fault itself: how long the broker does not answer
        finally:
            resume(fault_broker)
        assert connector.wait(180) == 0, f"the connector failed:\n{hub.logs()[-4000:]}"
        summary = json.loads((hub.tmp / "connector-2.log").read_text().strip().splitlines()[-1])
        print(f"{len(rows)} rows; broker paused {PAUSE_S}s after {at}: {summary}")
        assert summary["published"] + summary.get("already_published", 0) == len(rows)
        assert_converged([hub], database_url, expected_of(events, hub.settings.hmac_key), monitor)
