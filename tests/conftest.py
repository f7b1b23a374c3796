"""Fixtures shared by the suite: the real broker, real databases, and a merge worker process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.broker import EmbeddedBroker, free_port
from tests.support.databases import fresh_database
from tests.support.hub import Hub, make_env

# Files that run a whole hub for a minute or more. Collected first, they start while the
# short files keep the other test process busy, instead of running alone at the end (the
# two processes then finished minutes apart).
LONG_FILES = (
    "test_live_dashboard.py",
    "test_quality.py",
    "test_bench.py",
    "test_sigterm.py",
    "test_up.py",
    "test_rebuild.py",
    "test_dashboard_alert_loop.py",
    "test_demo_live.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first, in the order above; the rest keep their order."""
    items.sort(
        key=lambda item: (
            LONG_FILES.index(item.path.name) if item.path.name in LONG_FILES else len(LONG_FILES)
        )
    )


@pytest.fixture(scope="session")
def start_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """Start a fresh embedded broker on a free port (for a test that needs empty topics)."""
    brokers: list[EmbeddedBroker] = []

    def start() -> str:
        log = tmp_path_factory.mktemp("broker") / "broker.log"
        broker = EmbeddedBroker(free_port(), log_path=log)
        broker.start()
        brokers.append(broker)
        return broker.bootstrap

    yield start
    for broker in brokers:
        broker.stop()


@pytest.fixture(scope="session")
def broker(start_broker: Callable[[], str]) -> str:
    """The session's embedded broker (bootstrap address)."""
    return start_broker()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty view database: a SQLite file, or a new PostgreSQL database."""
    yield from fresh_database(request.param, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Like ``database_url``, shared by the tests of one module (for read-mostly tests)."""
    yield from fresh_database(request.param, tmp_path_factory.mktemp("db"))


@pytest.fixture
def make_hub(tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    """Build hubs (settings + processes) for a test; their processes stop at teardown."""
    hubs: list[Hub] = []

    def make(bootstrap: str, database_url: str, **extra: str) -> Hub:
        tmp = tmp_path / f"hub{len(hubs)}"
        tmp.mkdir()
        hub = Hub(make_env(bootstrap, database_url, tmp / "var", **extra), tmp)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()
