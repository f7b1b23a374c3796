"""Two merge workers sharing the partitions produce the same views as one."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.expected_views import MatchesOracle
from tests.support.hub import Hub
from tests.support.oracle import oracle_views
from tests.support.pipeline import deliver, merged_events
from tests.support.seeded_load import seeded_load

pytestmark = pytest.mark.integration


def _assigned(hub: Hub) -> set[str]:
    """Partitions a worker reports lag for, i.e. the ones assigned to it."""
    try:
        url = f"http://127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}/metrics"
        text = httpx.get(url, timeout=5).text
    except httpx.TransportError:
        return set()
    return {
        line.split("{", 1)[1].split("}", 1)[0]
        for line in text.splitlines()
        if line.startswith("datong_consumer_lag{")
    }


def _split(first: set[str], second: set[str]) -> bool:
    return bool(first) and bool(second) and not first & second


def test_two_workers_in_one_group_build_the_same_views_as_one(
    start_broker: Callable[[], str],
    database_url: str,
    make_hub: Callable[..., Hub],
    tmp_path: Path,
) -> None:
    batch = {"DATONG_BATCH_SIZE": "50"}
    pair = make_hub(start_broker(), database_url, **batch)
    keys = {k: pair.env[k] for k in ("DATONG_HMAC_KEY", "DATONG_SEAL_KEY")}
    events = seeded_load(pair, 400, random.Random(7))
    # What the events must make, whoever merges them: the independent oracle's views.
    expected = oracle_views(events, alert_key=pair.settings.hmac_key)

    pair.start("worker")
    second = make_hub(
        pair.env["DATONG_KAFKA_BOOTSTRAP"],
        database_url,
        **keys,
        **batch,
        DATONG_CONSUMER_GROUP=pair.env["DATONG_CONSUMER_GROUP"],
    )
    second.start("worker")
    # Deliver only once the group has split the partitions between the two workers.
    pair.wait_for(
        lambda: (
            second.wait_for(lambda: True, "the second worker")
            and _split(_assigned(pair), _assigned(second))
        ),
        "the group to rebalance",
    )
    deliver(pair, events)

    matches = MatchesOracle(database_url, expected)
    try:
        pair.wait_for(
            lambda: second.wait_for(lambda: True, "the second worker") and matches(),
            "the two workers' views to equal the oracle's",
            timeout_s=120,
        )
    except BaseException:
        print(matches.account())
        raise
    assert merged_events(pair) > 0 and merged_events(second) > 0, "both workers took partitions"
    # They met on households and alerts, and waited for each other's rows instead of failing.
    assert _retries(pair) + _retries(second) == 0, "no merge was rolled back and run again"


def _retries(hub: Hub) -> float:
    """``datong_merge_retries_total`` of a worker, over every reason."""
    url = f"http://127.0.0.1:{hub.env['DATONG_WORKER_METRICS_PORT']}/metrics"
    text = httpx.get(url, timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("datong_merge_retries_total")
    )
