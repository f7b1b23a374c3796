"""The fault suite's fixtures (its seeded generator, its own broker) and its seed summary.

The quick/full switches and the seeding live in ``tests.support.faults.switches``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.broker import EmbeddedBroker, free_port
from tests.support.faults.broker import resume
from tests.support.faults.switches import MODE, SEEDS, seeded


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List every fault test's seed at the end of the run, pass or fail."""
    if not SEEDS:
        return
    terminalreporter.section(f"fault seeds ({MODE})")
    for nodeid, seed in SEEDS.items():
        terminalreporter.write_line(f"{nodeid}: DATONG_FAULT_SEED={seed}")
