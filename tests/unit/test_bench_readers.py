"""The bench's view readers: concurrent, closed-loop, and authorized once there are tokens."""

from __future__ import annotations

import asyncio
import random

from services.bench.readers import closed_loop, request_headers


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
