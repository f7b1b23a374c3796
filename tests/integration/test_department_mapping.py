"""A department brings its own mapping file: checked, dry-run on a sample, then run.

A file whose header fits none of the department's exports is refused once, for the whole
file: it names the exports and the closest one's expected and known found headers, goes to
``failed/`` and puts nothing on the dead letters.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.district_export import district_rows, write_export, write_mapping
from tests.support.hub import Hub
from tests.support.topics import read_topic, records_on

pytestmark = pytest.mark.integration

TOPIC = "src.health.test-result-reported"


def _datong(hub: Hub, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    process = hub.start(*args, env=env)
    code = process.wait(60)
    return code, (hub.tmp / f"{args[0]}-{len(hub.processes) - 1}.log").read_text()


def test_a_mapping_file_outside_the_repository_is_checked_dry_run_and_run(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    own = tmp_path / "district-it"
    own.mkdir()
    mapping = write_mapping(own / "health.yaml")
    export = write_export(own / "核酸_0604.xlsx", district_rows(6))

    code, checked = _datong(hub, "mapping", "check", str(mapping), "--sample", str(export))
    assert code == 0, checked
    assert "column 受检者身份证号 -> person_key" in checked
    assert "column 受检者姓名 -> (not used)" in checked
    assert "row 1: would be published test-result-reported health:test:HS00001" in checked
    assert "6 would be published, 0 parked, 0 rejected; nothing was published" in checked
    assert "王义" not in checked

    hub.start("api")
    code, ran = _datong(
        hub, "connector", "run", "health", "--source", str(export), "--mapping", str(mapping)
    )
    assert code == 0, ran
    records = read_topic(bootstrap, TOPIC, expect=6)
    assert sorted(r.headers["ce_id"] for r in records) == [
        f"health:test:HS{n:05d}".encode() for n in range(1, 7)
    ]
    assert all(b"\xe7\x8e\x8b\xe4\xb9\x89" not in (r.value or b"") for r in records)  # 王义


def test_a_file_of_the_wrong_export_fails_once_and_nothing_reaches_the_dead_letters(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    write_mapping(mappings / "health.yaml")
    drop = tmp_path / "drop"
    drop.mkdir()
    wrong = ("样本号", "身份证", "姓名", "采样时间", "结果", "检测机构")
    write_export(drop / "核酸_0605.xlsx", district_rows(50), header=wrong)
    hub.start("api")

    code, ran = _datong(
        hub,
        "connector",
        "run",
        "health",
        "--source",
        str(drop),
        env={"DATONG_MAPPINGS_DIR": str(mappings)},
    )

    assert code != 0
    assert ran.count("fits no health export") == 1, ran
    assert "district_test (区卫健委核酸检测导出)" in ran
    assert "expects 样本编号, 受检者身份证号, 检测结果(阴性/阳性), 采样时间" in ran
    assert "found 采样时间, 检测机构 and 4 columns no export knows" in ran
    assert (drop / "failed" / "核酸_0605.xlsx").exists()
    assert read_topic(bootstrap, "dlq.health", expect=0) == []
    assert read_topic(bootstrap, TOPIC, expect=0) == []


def test_a_name_column_mapped_to_a_code_field_is_refused_at_check_and_at_run(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    # The issue's own example: `lab_code: 受检者姓名` sent '王义' off the connector in clear.
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    own = tmp_path / "district-it"
    own.mkdir()
    mapping = write_mapping(own / "health.yaml", lab_code="受检者姓名")
    export = write_export(own / "核酸_0606.xlsx", district_rows(4))

    code, checked = _datong(hub, "mapping", "check", str(mapping), "--sample", str(export))
    assert code == 2, checked
    assert "column 受检者姓名 holds a name by its header, and lab_code is a code field" in checked
    assert "Traceback" not in checked

    # Under a header that says nothing, the sample's values give the names away.
    innocuous = write_mapping(own / "health-innocuous.yaml")  # lab_code: 检测机构
    people = ["王义", "张三", "李四光", "刘备"]
    names = [(*row[:5], name) for row, name in zip(district_rows(4), people, strict=True)]
    code, sniffed = _datong(
        hub,
        "mapping",
        "check",
        str(innocuous),
        "--sample",
        str(write_export(own / "b.xlsx", names)),
    )
    assert code == 2, sniffed
    assert "column 检测机构 holds a name by its sample values, and lab_code is a code" in sniffed
    assert not any(name in sniffed for name in people)

    hub.start("api")
    code, ran = _datong(
        hub, "connector", "run", "health", "--source", str(export), "--mapping", str(mapping)
    )
    assert code == 2, ran
    assert "column 受检者姓名 holds a name by its header" in ran
    assert records_on(bootstrap, TOPIC) == []


def test_rows_with_an_id_number_in_a_code_column_go_to_the_dead_letters_alone(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    mapping = write_mapping(tmp_path / "health.yaml")  # lab_code: 检测机构, a legit code
    rows = district_rows(6)
    leaked = [(*row[:5], row[1]) if n % 3 == 0 else row for n, row in enumerate(rows, 1)]
    export = write_export(tmp_path / "核酸_0607.xlsx", leaked)
    hub.start("api")

    code, ran = _datong(
        hub, "connector", "run", "health", "--source", str(export), "--mapping", str(mapping)
    )

    assert code == 0, ran
    published = read_topic(bootstrap, TOPIC, expect=4)
    assert sorted(r.headers["ce_id"] for r in published) == [
        f"health:test:HS{n:05d}".encode() for n in (1, 2, 4, 5)
    ]
    letters = read_topic(bootstrap, "dlq.health", expect=2)
    assert [
        (
            h["__datong.errors.field"].decode(),
            h["__datong.errors.code"].decode(),
            h["__datong.errors.reason"].decode(),
        )
        for h in (letter.headers for letter in letters)
    ] == [
        (
            "检测机构",
            "personal_data",
            "holds an ID number, and lab_code is a code field: personal data leaves the "
            "connector only as person_key or a mask; fix the export or the mapping",
        )
    ] * 2
    assert all(row[1].encode() not in (r.value or b"") for row in rows for r in published)
