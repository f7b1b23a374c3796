"""Every event delivered two or three times, interleaved in a seeded order: no duplicate effect."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from services.broker import EmbeddedBroker
from tests.support.expected_views import expected_of
from tests.support.faults.harness import assert_converged, deliver
from tests.support.faults.monitor import VersionMonitor
from tests.support.faults.switches import BACKENDS, scale
from tests.support.faults.workload import resident_events
from tests.support.hub import Hub

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_events_delivered_two_or_three_times_in_any_order_merge_once(
    fault_rng: random.Random,
    fault_broker: EmbeddedBroker,
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(fault_broker.bootstrap, database_url, DATONG_BATCH_SIZE="50")
    events = resident_events(scale(400, 2000), hub.settings.hmac_key, fault_rng)
    expected = expected_of(events, hub.settings.hmac_key)
    copies = [event for event in events for _ in range(fault_rng.choice((2, 3)))]
    fault_rng.shuffle(copies)
    with VersionMonitor(database_url) as monitor:
        hub.start("worker")
        # Half before the worker is up, half while it merges: copies land in one batch and
        # in different batches, before and after the original.
        half = len(copies) // 2
        deliver(hub, copies[:half])
        deliver(hub, copies[half:])
        print(f"{len(events)} events delivered as {len(copies)} copies")
        assert_converged([hub], database_url, expected, monitor)
