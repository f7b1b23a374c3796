"""A production process refuses a PostgreSQL URL that does not verify the server, before it
connects, naming the variable and what to add."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.hub import Hub

pytestmark = pytest.mark.integration


def test_a_production_worker_refuses_a_postgresql_url_that_does_not_verify_the_server(
    broker: str, make_hub: Callable[..., Hub]
) -> None:
    hub = make_hub(
        broker,
        "postgresql+psycopg://datong@127.0.0.1:1/nowhere?sslmode=require",
        DATONG_DATABASE_TLS="verify-full",
    )
    worker = hub.start("worker", long_running=False)
    assert worker.wait(60) != 0
    assert "DATONG_DATABASE_URL has sslmode=require" in hub.logs()
    assert "sslmode=verify-full" in hub.logs()
