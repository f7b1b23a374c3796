"""The view rows' statistics are refreshed beside the merge, on a connection of their own."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.broker import free_port
from services.store.merge_store import open_merge_store
from services.store.statistics import BackgroundAnalyze
from tests.support.databases import fresh_postgres_store
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_postgres_store(tmp_path)


def analyzed(url: str) -> int:
    """How many times ``view_row`` was analysed by hand (not by autovacuum)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(
                sa.text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'view_row'")
            ).scalar()
            return int(count or 0)
    finally:
        engine.dispose()


def conninfo(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


def test_a_merge_store_asked_to_analyze_has_the_statistics_refreshed_by_its_close(
    postgres_url: str,
) -> None:
    store = open_merge_store(postgres_url)
    store.analyze()
    store.close()  # waits for the ANALYZE running beside it
    assert analyzed(postgres_url) == 1


def test_a_request_while_one_runs_is_not_lost(postgres_url: str) -> None:
    statistics = BackgroundAnalyze(conninfo(postgres_url))
    try:
        for _ in range(5):
            statistics.request()
        # The first ran, and the rest asked once more while it ran (or each started anew).
        wait_for(lambda: analyzed(postgres_url) >= 2, 30, what="a second ANALYZE")
    finally:
        statistics.close()
    assert analyzed(postgres_url) <= 5


def test_a_failed_refresh_is_logged_and_raises_nothing(caplog: pytest.LogCaptureFixture) -> None:
    statistics = BackgroundAnalyze(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    with caplog.at_level(logging.WARNING, logger="services.store.statistics"):
        statistics.request()
        statistics.close()
    assert "refreshing the view rows' statistics failed" in caplog.text
