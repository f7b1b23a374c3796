"""What an operator reads from the ``datong`` command: counts from the topics themselves,
one line for a broker that is not there, and no library chatter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from services.broker import free_port
from tests.support.district_export import district_rows, write_export, write_mapping
from tests.support.hub import Hub

pytestmark = pytest.mark.integration


def _datong(hub: Hub, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    process = hub.start(*args, env=env)
    code = process.wait(90)
    return code, (hub.tmp / f"{args[0]}-{len(hub.processes) - 1}.log").read_text()


def test_status_counts_the_dead_letters_a_one_off_run_left_on_the_topic(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    hub = make_hub(start_broker(), f"sqlite:///{tmp_path / 'views.db'}")
    mapping = write_mapping(tmp_path / "health.yaml", words=("阴性",))
    export = write_export(tmp_path / "核酸.xlsx", district_rows(6))
    hub.start("api")
    code, ran = _datong(
        hub, "connector", "run", "health", "--source", str(export), "--mapping", str(mapping)
    )
    assert code == 0, ran
    assert "HTTP Request" not in ran  # httpx's INFO lines stay off stderr

    _, status = _datong(hub, "status")
    dead = status.split("DEAD LETTERS\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert dead[0].split() == ["DEPARTMENT", "RECORDS"]
    assert ["health", "2"] in [line.split() for line in dead[1:]]


def test_a_broker_that_is_not_there_is_one_line_naming_the_setting(
    make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    hub = make_hub(nowhere, f"sqlite:///{tmp_path / 'views.db'}")
    code, output = _datong(hub, "dlq", "list", "health")
    assert code == 2
    assert output.splitlines() == [
        f"datong: cannot reach Kafka at {nowhere} (KafkaTimeoutError: Unable to bootstrap from "
        f"{nowhere}); start the broker or set DATONG_KAFKA_BOOTSTRAP"
    ]
