"""A connector on a department's side runs from what it is given, and makes no key.

Started in an empty folder without the hub's keys it stops and says what to provide,
creating nothing; given a key that is not the hub's, it refuses before it publishes
anything (the hub serves its keys' check values, or DATONG_*_KEY_CHECK gives them).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.district_export import district_rows, write_export, write_mapping
from tests.support.hub import Hub
from tests.support.topics import read_topic, records_on

pytestmark = pytest.mark.integration

TOPIC = "src.health.test-result-reported"
# What the department's machine has: nothing of the hub's files, not even a var/ folder.
NO_KEYS = {"DATONG_HMAC_KEY": "", "DATONG_SEAL_KEY": "", "DATONG_VAR_DIR": ""}


def _datong(
    hub: Hub, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[int, str]:
    process = hub.start(*args, env=env, cwd=cwd)
    code = process.wait(60)
    return code, (hub.tmp / f"{args[0]}-{len(hub.processes) - 1}.log").read_text()


def _key_file(path: Path, key: bytes) -> Path:
    path.write_text(base64.b64encode(key).decode())
    return path


def test_a_connector_in_an_empty_folder_without_keys_stops_with_what_to_provide(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    hub = make_hub(start_broker(), f"sqlite:///{tmp_path / 'views.db'}")
    elsewhere = tmp_path / "department-pc"
    elsewhere.mkdir()
    mapping = write_mapping(tmp_path / "health.yaml")
    export = write_export(tmp_path / "核酸.xlsx", district_rows(3))

    code, output = _datong(
        hub,
        *("connector", "run", "health", "--source", str(export), "--mapping", str(mapping)),
        env=NO_KEYS,
        cwd=elsewhere,
    )
    assert code == 2, output
    assert "datong: no DATONG_HMAC_KEY: this process needs the hub's key" in output
    assert "DATONG_HMAC_KEY_FILE=<file holding it in base64>" in output
    assert "Traceback" not in output

    code, output = _datong(hub, "dlq", "show", "health", "0:0", env=NO_KEYS, cwd=elsewhere)
    assert code == 2 and "no DATONG_SEAL_KEY" in output, output
    code, output = _datong(hub, "dlq", "list", "health", env=NO_KEYS, cwd=elsewhere)
    assert "Traceback" not in output and "KEY" not in output, output
    assert list(elsewhere.iterdir()) == []  # no var/keys made up on the way


def test_a_connector_given_a_wrong_key_refuses_before_it_publishes(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    hub.start("api")  # serves /keys/check beside its registry
    elsewhere = tmp_path / "department-pc"
    elsewhere.mkdir()
    mapping = write_mapping(elsewhere / "health.yaml")
    export = write_export(elsewhere / "核酸.xlsx", district_rows(4))
    seal = _key_file(elsewhere / "seal.key", base64.b64decode(hub.env["DATONG_SEAL_KEY"]))
    run = ("connector", "run", "health", "--source", str(export), "--mapping", str(mapping))
    wrong = {
        **NO_KEYS,
        "DATONG_HMAC_KEY_FILE": str(_key_file(elsewhere / "hmac.key", secrets.token_bytes(32))),
        "DATONG_SEAL_KEY_FILE": str(seal),
    }

    code, output = _datong(hub, *run, env=wrong, cwd=elsewhere)
    assert code == 2, output
    assert "DATONG_HMAC_KEY is not the hub's key" in output and "nothing was published" in output

    code, check_values = _datong(hub, "keys", "check-value")
    assert code == 0, check_values
    given = dict(line.split("=", 1) for line in check_values.split() if "_CHECK=" in line)
    elsewhere_registry = {"DATONG_REGISTRY_URL": hub.settings.registry_http_url + "/"}
    code, output = _datong(hub, *run, env={**wrong, **given, **elsewhere_registry}, cwd=elsewhere)
    assert code == 2 and "DATONG_HMAC_KEY is not the hub's key" in output, output
    assert records_on(bootstrap, TOPIC) == []
    assert records_on(bootstrap, "dlq.health") == []

    right = {
        **wrong,
        "DATONG_HMAC_KEY_FILE": str(_key_file(elsewhere / "hmac.key", hub.settings.hmac_key)),
    }
    code, output = _datong(hub, *run, env={**right, **given}, cwd=elsewhere)
    assert code == 0, output
    assert len(read_topic(bootstrap, TOPIC, expect=4)) == 4
