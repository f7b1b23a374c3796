"""The fault suite's switches (quick or full, the seed) and its own broker fixture.

``DATONG_FAULTS=full`` selects the long form; anything else (or unset) the quick one that CI
runs. Every fault draws its kill points from a seeded generator: the seed is printed (and
listed at the end of the run), and ``DATONG_FAULT_SEED=N`` replays it.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from services.broker import EmbeddedBroker, free_port

FULL = os.environ.get("DATONG_FAULTS", "quick").strip().lower() == "full"
MODE = "full" if FULL else "quick"
# The quick form picks one view store per fault; the full form runs each on both.
BACKENDS = ["sqlite", "postgresql"] if FULL else ["sqlite"]
POSTGRES_BACKENDS = ["sqlite", "postgresql"] if FULL else ["postgresql"]

T = TypeVar("T")
_SEEDS: dict[str, int] = {}


def scale(quick: T, full: T) -> T:
    """The quick or the full value of a knob, by ``DATONG_FAULTS``."""
    return full if FULL else quick


def seeded(name: str) -> random.Random:
    """A generator seeded from ``DATONG_FAULT_SEED`` or at random; the seed is printed."""
    given = os.environ.get("DATONG_FAULT_SEED")
    seed = int(given) if given else secrets.randbelow(2**31)
    _SEEDS[name] = seed
    print(f"fault seed {seed} ({MODE}); replay with DATONG_FAULT_SEED={seed}")
    return random.Random(seed)


@pytest.fixture
def fault_rng(request: pytest.FixtureRequest) -> random.Random:
    """The test's seeded generator; its seed is printed so a failure can be replayed."""
    return seeded(request.node.nodeid)


@pytest.fixture
def fault_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A fresh embedded broker the test may pause (SIGSTOP) and resume."""
    broker = EmbeddedBroker(free_port(), log_path=tmp_path / "broker.log")
    broker.start()
    yield broker
    resume(broker)
    broker.stop()


def broker_pid(broker: EmbeddedBroker) -> int:
    """The broker process's pid."""
    assert broker.pid is not None, "the broker was never started"
    return broker.pid


def resume(broker: EmbeddedBroker) -> None:
    """SIGCONT the broker if it is still running (a no-op on a running one)."""
    if broker.pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(broker.pid, signal.SIGCONT)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List every fault test's seed at the end of the run, pass or fail."""
    if not _SEEDS:
        return
    terminalreporter.section(f"fault seeds ({MODE})")
    for nodeid, seed in _SEEDS.items():
        terminalreporter.write_line(f"{nodeid}: DATONG_FAULT_SEED={seed}")
