"""After a mapping fix an operator replays the dead letters and resets the checkpoint, in
any order and as often as they like: every row is published exactly once, each action is
in the connector's ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.publisher import POSITION_HEADER, SOURCE_HEADER
from services.settings import Settings
from tests.support.district_export import district_rows, write_export, write_mapping
from tests.support.hub import Hub
from tests.support.topics import plant_record, read_topic

pytestmark = pytest.mark.integration

TOPIC = "src.health.test-result-reported"


def _datong(hub: Hub, *args: str) -> tuple[int, str]:
    process = hub.start(*args)
    code = process.wait(90)
    return code, (hub.tmp / f"{args[0]}-{len(hub.processes) - 1}.log").read_text()


def _summary(output: str) -> dict[str, object]:
    summary: dict[str, object] = json.loads(
        next(li for li in output.splitlines() if li.startswith("{"))
    )
    return summary


def test_a_bulk_replay_and_a_reset_after_a_mapping_fix_publish_every_row_once(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    mapping = write_mapping(tmp_path / "health.yaml", words=("阴性",))  # forgot 阳性(+)
    export = write_export(tmp_path / "核酸_0606.xlsx", district_rows(9))
    hub.start("api")
    run = ("connector", "run", "health", "--source", str(export), "--mapping", str(mapping))
    code, first = _datong(hub, *run)
    assert code == 0, first
    assert _summary(first)["rejected_by_reason"] == {"bad_enum": 3}

    write_mapping(mapping)  # the fix: 阳性(+) is a result too
    code, replayed = _datong(
        hub, "dlq", "replay", "health", "--all", "--reason", "bad_enum", "--mapping", str(mapping)
    )
    assert code == 0, replayed
    assert _summary(replayed)["replayed"] == 3

    code, reset = _datong(hub, "connector", "reset", "health", "--file", export.name)
    assert code == 0, reset
    assert _summary(reset)["reset"] == [str(export)]
    code, rerun = _datong(hub, *run)
    assert code == 0, rerun
    assert _summary(rerun)["published"] == 0 and _summary(rerun)["already_published"] == 9

    code, again = _datong(hub, "dlq", "replay", "health", "--all", "--mapping", str(mapping))
    assert code == 0, again
    assert _summary(again)["replayed"] == 0 and _summary(again)["already_published"] == 3

    records = read_topic(bootstrap, TOPIC, expect=9)
    assert sorted(r.headers["ce_id"] for r in records) == [
        f"health:test:HS{n:05d}".encode() for n in range(1, 10)
    ]
    ledger = Settings.from_env(hub.env).ledger_path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["action"] for line in ledger] == ["replay-all", "reset", "replay-all"]


def test_a_reset_first_maps_the_rejected_rows_again_and_skips_the_published_ones(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    mapping = write_mapping(tmp_path / "health.yaml", words=("阴性",))
    export = write_export(tmp_path / "核酸_0607.xlsx", district_rows(6))
    hub.start("api")
    run = ("connector", "run", "health", "--source", str(export), "--mapping", str(mapping))
    assert _datong(hub, *run)[0] == 0
    write_mapping(mapping)

    code, reset = _datong(hub, "connector", "reset", "health")
    assert code == 0, reset
    code, rerun = _datong(hub, *run)
    assert code == 0, rerun
    assert _summary(rerun)["published"] == 2 and _summary(rerun)["already_published"] == 4
    code, replayed = _datong(hub, "dlq", "replay", "health", "--all", "--mapping", str(mapping))
    assert code == 0, replayed
    assert _summary(replayed)["replayed"] == 0 and _summary(replayed)["already_published"] == 2

    records = read_topic(bootstrap, TOPIC, expect=6)
    assert len({r.headers["ce_id"] for r in records}) == len(records) == 6


def test_resetting_a_file_without_a_checkpoint_names_the_ones_there_are(
    make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    hub = make_hub("127.0.0.1:1", f"sqlite:///{tmp_path / 'views.db'}")
    code, output = _datong(hub, "connector", "reset", "health", "--file", "nothing.xlsx")
    assert code == 2
    assert (
        "datong: health has no checkpoint for a file 'nothing.xlsx' (checkpointed: none)" in output
    )
    assert "Traceback" not in output


def test_a_reset_and_a_bulk_replay_read_from_where_their_sources_began(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    # History older than the sources: a record claiming row 3 of each export. Read from
    # the topic's beginning, it would pass for row 3's event and row 3 would never be
    # published; read from the offsets the checkpoints recorded when the sources began,
    # it is never seen.
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    mapping = write_mapping(tmp_path / "health.yaml", words=("阴性",))  # rows 3, 6 rejected
    reset_export = write_export(tmp_path / "核酸_0608.xlsx", district_rows(6))
    replay_export = write_export(tmp_path / "核酸_0609.xlsx", district_rows(6))
    partitions = Settings.from_env(hub.env).partitions
    for export in (reset_export, replay_export):
        headers = {SOURCE_HEADER: str(export), POSITION_HEADER: "3"}
        plant_record(bootstrap, partitions, TOPIC, headers)
    hub.start("api")
    for export in (reset_export, replay_export):
        run = ("connector", "run", "health", "--source", str(export), "--mapping", str(mapping))
        code, first = _datong(hub, *run)
        assert code == 0, first
        assert _summary(first)["rejected_by_reason"] == {"bad_enum": 2}
    write_mapping(mapping)

    code, _ = _datong(hub, "connector", "reset", "health", "--file", reset_export.name)
    assert code == 0
    run = ("connector", "run", "health", "--source", str(reset_export), "--mapping", str(mapping))
    code, rerun = _datong(hub, *run)
    assert code == 0, rerun
    assert _summary(rerun)["published"] == 2 and _summary(rerun)["already_published"] == 4
    code, replayed = _datong(hub, "dlq", "replay", "health", "--all", "--mapping", str(mapping))
    assert code == 0, replayed
    assert _summary(replayed)["replayed"] == 2  # the replay export's rows 3 and 6
    assert _summary(replayed)["already_published"] == 2  # the reset export's, by the rerun

    records = read_topic(bootstrap, TOPIC, expect=14)
    published = sorted(
        (r.headers[SOURCE_HEADER].decode(), int(r.headers[POSITION_HEADER]))
        for r in records
        if r.value != b"planted"
    )
    assert published == sorted(
        (str(export), row) for export in (reset_export, replay_export) for row in range(1, 7)
    )
