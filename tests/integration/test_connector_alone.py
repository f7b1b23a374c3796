"""A connector needs the broker and a schema registry, and nothing of the hub's database.

It keeps its own state (``DATONG_CONNECTOR_STATE_URL``), looks its schema ids up in the
hub API's registry over HTTP without a token, waits for that registry when it starts
first, and gives up with a one-line message when it never answers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.broker import free_port
from services.store.database import create_engine
from services.store.registry_store import SqlRegistry
from tests.support.factories import registry_rows, write_registry_csv
from tests.support.hub import Hub
from tests.support.topics import read_topic

pytestmark = pytest.mark.integration

TOPIC = "src.public-security.resident-registered"
# A view store no connector could open: nothing listens on port 1.
NOWHERE = {"DATONG_DATABASE_URL": "postgresql+psycopg://datong@127.0.0.1:1/nowhere"}


def test_a_connector_started_before_the_registry_waits_for_it_and_never_opens_the_view_store(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    rows = registry_rows(5, seed=51)
    source = write_registry_csv(hub.tmp / "registry.csv", rows)
    connector = hub.start(
        "connector", "run", "public-security", "--source", str(source), env=NOWHERE
    )
    log = hub.tmp / "connector-0.log"
    hub.wait_for(lambda: "waiting up to" in log.read_text(), "the connector to wait for the API")

    hub.start("api")  # on the real view store: it registers the catalog, then serves /registry
    assert connector.wait(120) == 0, hub.logs()[-3000:]
    records = read_topic(bootstrap, TOPIC, expect=len(rows))
    assert sorted(r.headers["ce_id"].decode() for r in records) == sorted(
        f"public-security:{row.serial}" for row in rows
    )
    # The ids it framed them with are the hub's: the hub's own store decodes every record.
    engine = create_engine(hub.settings.database_url)
    serde = Serde(Catalog.load(), SqlRegistry(engine))
    contract = Catalog.load().event("public-security", "resident-registered")
    assert {serde.decode(contract, r.value or b"")["event_id"] for r in records} == {
        f"public-security:{row.serial}" for row in rows
    }
    engine.dispose()
    assert (hub.settings.var_dir / "connectors" / "state.db").exists()
    assert (hub.settings.checkpoint_dir / "public-security.json").exists()


def test_a_connector_whose_registry_never_answers_says_so_in_one_line(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    hub = make_hub(start_broker(), f"sqlite:///{tmp_path / 'views.db'}", DATONG_REGISTRY_WAIT_S="1")
    source = write_registry_csv(hub.tmp / "registry.csv", registry_rows(1, seed=52))
    registry = f"http://127.0.0.1:{free_port()}/registry"
    connector = hub.start(
        "connector",
        "run",
        "public-security",
        "--source",
        str(source),
        env={**NOWHERE, "DATONG_REGISTRY_URL": registry},
    )
    assert connector.wait(60) == 2
    output = (hub.tmp / "connector-0.log").read_text()
    assert f"datong: schema registry at {registry} unreachable" in output
    assert "DATONG_REGISTRY_URL" in output and "Traceback" not in output
