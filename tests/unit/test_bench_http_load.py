"""The bench's view readers: concurrent, closed-loop, and reading as a real audience."""

from __future__ import annotations

import asyncio
import random

import pytest

from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.bench.context import VIEW
from services.bench.data import COMMUNITIES
from services.bench.http_load import AUDIENCE, check_audience, closed_loop, request_headers
from services.bench.processes import BenchError


def test_readers_send_a_bearer_token_when_the_bench_has_one() -> None:
    assert request_headers("s3cret") == {"Authorization": "Bearer s3cret"}
    assert request_headers(None) == {}


def test_every_reader_has_a_request_in_flight_at_once_and_each_answer_is_timed() -> None:
    in_flight = 0
    most = 0
    answered = 0

    async def request(_: random.Random) -> None:
        nonlocal in_flight, most, answered
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        answered += 1

    latencies = asyncio.run(closed_loop(50, 0.05, request))

    assert most == 50
    assert len(latencies) == answered > 0
    assert all(latency > 0 for latency in latencies)


def test_the_bench_reads_as_a_shipped_audience_that_covers_all_its_communities() -> None:
    check_audience(load_policy(DEFAULT_POLICY_FILE), AUDIENCE, VIEW, COMMUNITIES)


def test_an_audience_of_other_communities_is_refused_naming_them() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE)

    with pytest.raises(BenchError, match="C001, C002, C003 and 37 more"):
        check_audience(policy, "grid-office-110105001001", VIEW, COMMUNITIES)


def test_an_audience_without_the_view_or_unknown_is_refused() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE)

    with pytest.raises(BenchError, match="may not read view resident_profile"):
        check_audience(policy, "commerce-delivery", VIEW, COMMUNITIES)
    with pytest.raises(BenchError, match="no audience 'nobody'"):
        check_audience(policy, "nobody", VIEW, COMMUNITIES)
