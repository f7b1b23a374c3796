"""`datong schemas` registers every contract once, and the API serves the registry and AsyncAPI."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import httpx
import pytest
import yaml

from schemas.catalog import Catalog
from tests.support.hub import Hub

pytestmark = pytest.mark.integration


def _datong(hub: Hub, *args: str) -> subprocess.CompletedProcess[str]:
    process = hub.start(*args)
    process.wait(60)
    log = (hub.tmp / f"{args[0]}-{len(hub.processes) - 1}.log").read_text()
    return subprocess.CompletedProcess(args, process.returncode, log, "")


def test_register_is_idempotent_and_the_api_serves_what_was_registered(
    broker: str,
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(broker, database_url)
    catalog = Catalog.load()
    first = _datong(hub, "schemas", "register")
    assert first.returncode == 0, first.stdout
    done = first.stdout.count("registered ") + first.stdout.count("unchanged ")
    assert done == len(list(catalog))
    again = _datong(hub, "schemas", "register")
    assert again.returncode == 0 and again.stdout.count("unchanged ") == len(list(catalog))
    check = _datong(hub, "schemas", "check")
    assert check.returncode == 0 and "every schema is compatible" in check.stdout

    hub.start("api")
    api = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"
    subjects = hub.wait_for(lambda: _json(f"{api}/registry/subjects"), "the registry API")
    assert sorted(subjects) == sorted(c.value_subject for c in catalog)
    view_config = httpx.get(f"{api}/registry/config/view.resident_profile-value").json()
    assert view_config["compatibilityLevel"] == "FULL_TRANSITIVE"
    document = yaml.safe_load(httpx.get(f"{api}/asyncapi.yaml").text)
    assert document["asyncapi"].startswith("3.")
    assert "src.health.health-status-changed" in str(document["channels"])


def _json(url: str) -> object:
    try:
        response = httpx.get(url, timeout=5)
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None
