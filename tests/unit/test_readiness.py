"""The API's readiness check: cached briefly, bounded in time, never piled up."""

from __future__ import annotations

import asyncio
import threading

from services.api.readiness import CachedCheck


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_check_runs_at_most_once_per_cache_period() -> None:
    clock = Clock()
    calls: list[int] = []
    check = CachedCheck(lambda: calls.append(1), (OSError,), cache_s=2, clock=clock)

    async def probe_three_times() -> list[str]:
        first = await check.result()
        clock.now += 1.9
        second = await check.result()
        clock.now += 0.2
        return [first, second, await check.result()]

    assert asyncio.run(probe_three_times()) == ["ok", "ok", "ok"]
    assert len(calls) == 2


def test_a_failing_check_names_the_error() -> None:
    def refuse() -> None:
        raise ConnectionRefusedError("no")

    check = CachedCheck(refuse, (OSError,))

    assert asyncio.run(check.result()) == "error: ConnectionRefusedError"


def test_a_hanging_check_times_out_and_is_not_started_again_while_it_hangs() -> None:
    clock = Clock()
    release = threading.Event()
    calls: list[int] = []

    def hang() -> None:
        calls.append(1)
        release.wait(30)

    check = CachedCheck(hang, (OSError,), cache_s=0, timeout_s=0.05, clock=clock)

    async def probe_twice() -> list[str]:
        return [await check.result(), await check.result()]

    try:
        assert asyncio.run(probe_twice()) == ["timed out after 0.05 s"] * 2
        assert len(calls) == 1
    finally:
        release.set()
