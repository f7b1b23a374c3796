"""A mapping writes a column into a field only if what the column holds fits the field's
data class: refused when the mapping loads, on a sample, and per row at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.errors import RecordError
from connectors.gazetteer import Gazetteer
from connectors.mappings.class_fit import sample_refusals
from connectors.mappings.loader import MAPPINGS_DIR, load_department, load_mapping_file
from connectors.mappings.mapper import DepartmentMapper, MappingError
from schemas.catalog import Catalog
from tests.support.district_export import HEADER, district_rows, write_mapping
from tests.support.factories import resident_id
from tests.support.stores import connector_state

CATALOG = Catalog.load()
KEY = b"k" * 32


def district(tmp_path: Path, lab_code: str) -> Path:
    return write_mapping(tmp_path / "health.yaml", lab_code=lab_code)


def row(**cells: str) -> dict[str, str | None]:
    first = dict(zip(HEADER, district_rows(1)[0], strict=True))
    return {**first, **cells}


def test_a_name_column_written_to_a_code_field_is_refused_when_the_mapping_loads(
    tmp_path: Path,
) -> None:
    with pytest.raises(MappingError) as refused:
        load_mapping_file(district(tmp_path, "受检者姓名"), CATALOG)
    message = str(refused.value)
    assert "column 受检者姓名 holds a name by its header" in message
    assert "lab_code is a code field" in message
    assert "exports.district_test.test-result-reported.lab_code" in message


def test_a_masked_name_still_cannot_go_into_a_code_field(tmp_path: Path) -> None:
    # mask_name makes a name safe to leave, but only as a masked name: 王* is no lab code.
    with pytest.raises(MappingError, match="column 受检者姓名 holds a name by its header"):
        load_mapping_file(
            district(tmp_path, "{from: 受检者姓名, transforms: [mask_name]}"), CATALOG
        )


def test_every_shipped_mapping_fits_the_classes_of_its_fields() -> None:
    for path in sorted(MAPPINGS_DIR.glob("*.yaml")):
        load_department(path.stem, CATALOG)  # raises on a misfit


def test_a_legitimate_code_column_passes_on_its_sample_and_every_row(tmp_path: Path) -> None:
    spec = load_mapping_file(district(tmp_path, "检测机构"), CATALOG)
    (export,) = spec.exports
    rows = [row(检测机构=code) for code in ("L0101", "协和医院", "第一检测站", "L0102")]
    assert sample_refusals(export, HEADER, rows) == []
    mapper = DepartmentMapper(spec, KEY)
    assert [mapper(r).record["lab_code"] for r in rows] == [
        "L0101",
        "协和医院",
        "第一检测站",
        "L0102",
    ]


def test_a_code_column_of_names_is_refused_on_its_sample(tmp_path: Path) -> None:
    spec = load_mapping_file(district(tmp_path, "检测机构"), CATALOG)
    (export,) = spec.exports
    rows = [row(检测机构=name) for name in ("王义", "张三", "李四光", "刘备")]
    assert sample_refusals(export, HEADER, rows) == [
        "column 检测机构 holds a name by its sample values, and lab_code is a code field: "
        "a name leaves only masked (mask_name, into a masked_name field)"
    ]


@pytest.mark.parametrize(
    ("value", "what"), [(resident_id(7), "an ID number"), ("138 1234 5678", "a phone number")]
)
def test_a_row_with_an_id_or_phone_number_headed_for_a_code_field_is_rejected(
    tmp_path: Path, value: str, what: str
) -> None:
    mapper = DepartmentMapper(load_mapping_file(district(tmp_path, "检测机构"), CATALOG), KEY)
    assert mapper(row(检测机构="L0101")).record["lab_code"] == "L0101"
    with pytest.raises(RecordError) as rejected:
        mapper(row(检测机构=value))
    assert rejected.value.code == "personal_data"
    assert rejected.value.field == "检测机构"
    assert rejected.value.reason.startswith(f"holds {what}, and lab_code is a code field")
    assert value not in str(rejected.value)


def test_a_sample_id_number_in_the_event_id_column_is_refused(tmp_path: Path) -> None:
    spec = load_mapping_file(district(tmp_path, "检测机构"), CATALOG)
    (export,) = spec.exports
    refusals = sample_refusals(export, HEADER, [row(样本编号=resident_id(9))])
    assert refusals == [
        "column 样本编号 holds an ID number by its sample values, and event_id is a code "
        "field: an ID number leaves only as person_key (or what it says: birth date, gender)",
        "column 样本编号 holds an ID number by its sample values, and test_id is a code "
        "field: an ID number leaves only as person_key (or what it says: birth date, gender)",
    ]


def test_a_phone_number_inside_free_text_is_rejected_a_plain_reason_is_not() -> None:
    engine = sa.create_engine("sqlite://")
    gazetteer = Gazetteer(connector_state(engine))  # the health mapping resolves addresses
    mapper = DepartmentMapper(load_department("health", CATALOG), KEY, gazetteer)
    row = {"记录编号": "R1", "证件号码": resident_id(3), "健康码状态": "红码"}
    row["变更时间"] = "2024-06-04 10:00"
    assert mapper({**row, "变更原因": "密接,居家观察"}).record["reason"] == "密接,居家观察"
    with pytest.raises(RecordError) as rejected:
        mapper({**row, "变更原因": "已电话联系13812345678,居家观察"})
    assert (rejected.value.field, rejected.value.code) == ("变更原因", "personal_data")
    assert rejected.value.reason.startswith("holds a phone number, and reason is a free_text")
    engine.dispose()
