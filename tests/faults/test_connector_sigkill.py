"""SIGKILL of a connector between send and flush, then a restart from its checkpoint.

The connector checkpoints after each flushed batch of 1,000 rows, so the restart resends at
most the unflushed tail: duplicates on the topic are allowed (at-least-once), but every row
must be there and the views must show each exactly once.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.runner import Runner
from schemas.catalog import Catalog
from services.broker import EmbeddedBroker
from tests.support.expected_views import expected_of
from tests.support.factories import registry_rows, write_registry_csv
from tests.support.faults.harness import assert_converged, checkpoint, deliver, wait_checkpoint
from tests.support.faults.monitor import VersionMonitor
from tests.support.faults.switches import BACKENDS, scale
from tests.support.faults.workload import change_rows, every_rule_events, registry_events
from tests.support.hub import Hub
from tests.support.topics import read_topic

pytestmark = pytest.mark.integration

BATCH = Runner.batch_size


def _kill_after(hub: Hub, source: Path, position: int, rng: random.Random) -> int:
    """Run the connector, SIGKILL it inside the batch after ``position``; return its checkpoint."""
    process = hub.start("connector", "run", "public-security", "--source", str(source))
    wait_checkpoint(hub, source, position, process)
    time.sleep(rng.uniform(0, 0.15))  # into the next batch: sent, not yet flushed
    assert process.poll() is None, f"the connector finished before the kill:\n{hub.logs()}"
    hub.kill(process, signal.SIGKILL)
    return checkpoint(hub, source)


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_connector_killed_between_send_and_flush_loses_no_row_and_duplicates_no_effect(
    fault_rng: random.Random,
    fault_broker: EmbeddedBroker,
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(fault_broker.bootstrap, database_url)
    hub.start("api")  # the connector looks its schema ids up in the API's registry
    registrations = registry_rows(scale(4_000, 45_000), seed=fault_rng.randint(0, 2**31))
    rows = registrations + change_rows(registrations, len(registrations) // 9, fault_rng)
    fault_rng.shuffle(rows)
    source = write_registry_csv(hub.tmp / "registry.csv", rows)
    events = registry_events(rows, hub.settings.hmac_key)
    kills = scale(1, 3)
    targets = sorted(fault_rng.sample(range(BATCH, len(rows) - 3 * BATCH, BATCH), kills))
    checkpoints = [_kill_after(hub, source, target, fault_rng) for target in targets]
    finish = hub.start("connector", "run", "public-security", "--source", str(source))
    assert finish.wait(180) == 0, hub.logs()

    catalog = Catalog.load()
    expected = Counter(catalog.event(e.department, e.event).topic for e in events)
    seen: Counter[str] = Counter()
    for topic, count in expected.items():
        for record in read_topic(fault_broker.bootstrap, topic, expect=count, timeout_s=120):
            seen[record.headers["ce_id"].decode()] += 1
    duplicates = sum(seen.values()) - len(seen)
    print(
        f"{len(rows)} rows, killed after checkpoints {checkpoints}: "
        f"{duplicates} duplicates on the topics"
    )
    assert set(seen) == {e.event_id for e in events}, "every row's event is on its topic"
    assert duplicates <= kills * BATCH, "a restart resends at most the unflushed batch"

    # The other departments' events of every rule too, so that every view has rows to check.
    others = every_rule_events(scale(20, 60), fault_rng)
    deliver(hub, others)
    with VersionMonitor(database_url, interval_s=1.0) as monitor:
        hub.start("worker")
        assert_converged(
            [hub], database_url, expected_of(events + others, hub.settings.hmac_key), monitor
        )
