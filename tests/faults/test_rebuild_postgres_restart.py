"""A disaster drill: PostgreSQL restarts while ``datong views rebuild`` replays the topics.

The rebuild waits for the store to come back, goes on where it was and ends in a verify that
finds nothing to report, while the live worker rides through the same restart.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.store.shadow import shadow_of
from tests.support.faults.postgres import restart_postgres
from tests.support.hub import Hub
from tests.support.rebuilds import merge_demo, output_of, shadow_rows

pytestmark = [pytest.mark.integration, pytest.mark.serial]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_rebuild_rides_through_a_postgres_restart_and_verifies_clean(
    start_broker: Callable[[], str], database_url: str, make_hub: Callable[..., Hub]
) -> None:
    hub = make_hub(start_broker(), database_url)
    merge_demo(hub)
    shadow = shadow_of(database_url)

    # One event per batch: the replay is still writing when the cluster goes down.
    rebuild = hub.start(
        "views", "rebuild", "--verify", long_running=False, env={"DATONG_BATCH_SIZE": "1"}
    )
    hub.wait_for(lambda: shadow_rows(shadow.url) > 20, "the rebuild to write its store")
    restart_postgres()
    code = rebuild.wait(300)

    output = output_of(hub, rebuild)
    assert code == 0, output
    assert "writing the rebuilt store failed" in output, "the restart missed the replay"
    assert "no difference: the rebuilt views equal the live ones" in output
