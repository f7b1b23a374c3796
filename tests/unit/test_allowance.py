"""An open stream's reader asks whether it may still read: looked up at most every interval."""

from __future__ import annotations

import asyncio

from services.api.live.allowance import Allowance


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_permission_is_looked_up_at_most_once_per_interval_and_a_no_is_final() -> None:
    clock, answers, asked = Clock(), [True, False], []

    async def still_allowed() -> bool:
        asked.append(clock.now)
        return answers[len(asked) - 1]

    async def run() -> list[bool]:
        allowance = Allowance(still_allowed, interval_s=0.5, clock=clock)
        seen = []
        for step in (0.0, 0.2, 0.3, 0.1, 0.5, 0.0, 1.0):
            clock.now += step
            seen.append(await allowance.holds())
        return seen

    assert asyncio.run(run()) == [True, True, True, True, False, False, False]
    assert asked == [100.5, 101.1]  # just authorised: no lookup in the first interval
