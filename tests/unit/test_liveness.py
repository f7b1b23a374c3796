"""A work loop's liveness: alive while it advances or has nothing to do, stuck otherwise."""

from __future__ import annotations

from services.liveness import Liveness


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_idle_loop_is_alive_however_long_it_waits() -> None:
    clock = Clock()
    liveness = Liveness(stall_s=60, clock=clock)
    liveness.observe(position=5, pending=False)
    clock.now += 3600

    health = liveness.health()

    assert health.alive
    assert health.detail == "idle: nothing waiting"


def test_a_loop_with_work_waiting_that_does_not_advance_is_stuck_after_the_stall() -> None:
    clock = Clock()
    liveness = Liveness(stall_s=60, clock=clock)
    liveness.observe(position=5, pending=True)
    clock.now += 59
    liveness.observe(position=5, pending=True)
    assert liveness.health().alive

    clock.now += 2
    health = liveness.health()

    assert not health.alive
    assert "no progress for 61 s" in health.detail


def test_each_step_forward_restarts_the_stall() -> None:
    clock = Clock()
    liveness = Liveness(stall_s=60, clock=clock)
    for position in range(10):
        liveness.observe(position, pending=True)
        clock.now += 50

    assert liveness.health().alive


def test_work_arriving_after_an_idle_spell_is_timed_from_its_arrival() -> None:
    clock = Clock()
    liveness = Liveness(stall_s=60, clock=clock)
    liveness.observe(position=5, pending=False)
    clock.now += 3600
    liveness.observe(position=5, pending=True)  # records arrive; nothing merged yet

    assert liveness.health().alive
    clock.now += 61
    assert not liveness.health().alive


def test_a_stuck_loop_is_alive_again_once_it_advances() -> None:
    clock = Clock()
    liveness = Liveness(stall_s=60, clock=clock)
    liveness.observe(position=5, pending=True)
    clock.now += 120
    assert not liveness.health().alive

    liveness.observe(position=6, pending=True)

    assert liveness.health().alive
