"""The mapping engine: YAML checked against the catalog at load, exports picked by header,
event ids, fallbacks, defaults and conditions, on small mappings written for each test."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.base import Event
from connectors.errors import RecordError
from connectors.identity import person_key
from connectors.mappings.loader import load_department
from connectors.mappings.mapper import DepartmentMapper, MappingError
from schemas.catalog import Catalog
from tests.support.factories import resident_id

KEY = b"k" * 32
CATALOG = Catalog.load()
PERSON = resident_id(5, date(1980, 1, 2))

CODES: dict[str, Any] = {
    "title": "健康码",
    "required_columns": ["编号", "证件号码", "状态", "时间"],
    "optional_columns": ["原因", "备注"],
    "event": "health-status-changed",
    "event_id": "{department}:{编号}",
    "fields": {
        "person_key": {"from": "证件号码", "transforms": ["person_key"]},
        "event_time": {"from": "时间", "transforms": ["datetime"]},
        "status": {"from": "状态", "transforms": [{"enum": {"绿码": "GREEN", "红码": "RED"}}]},
        "reason": "原因",
    },
}
# The same event from a newer export with one more required column: the more specific one.
CODES_V2 = copy.deepcopy(CODES) | {
    "title": "健康码(新版)",
    "required_columns": ["编号", "证件号码", "状态", "时间", "原因"],
    "event_id": "{department}:v2:{编号}",
}
QUARANTINE: dict[str, Any] = {
    "title": "隔离",
    "required_columns": ["流水号", "措施", "隔离编号", "证件号码", "时间"],
    "optional_columns": ["方式", "地点编码"],
    "event_id": "{department}:{event}:{hash(流水号,时间)}",
    "event_by": {
        "column": "措施",
        "values": {"开始": "quarantine-ordered", "解除": "quarantine-lifted"},
    },
    "fields": {
        "person_key": {"from": "证件号码", "transforms": ["person_key"]},
        "event_time": {"from": "时间", "transforms": ["datetime"]},
        "quarantine_id": "隔离编号",
    },
    "events": {
        "quarantine-ordered": {
            "kind": {
                "from": "方式",
                "transforms": [{"enum": {"居家": "HOME", "集中": "CENTRALIZED"}}],
            },
            "facility_code": {"from": "地点编码", "when": {"column": "方式", "in": ["集中"]}},
            "starts_at": {"from": "时间", "transforms": ["datetime"]},
            "planned_end_at": {"from": "时间", "transforms": ["datetime"]},
        },
        "quarantine-lifted": {"outcome": {"value": "COMPLETED"}},
    },
}


def write(tmp_path: Path, exports: dict[str, Any], department: str = "health") -> Path:
    document = {"department": department, "exports": exports}
    path = tmp_path / "health.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return tmp_path


def mapper(tmp_path: Path, **exports: dict[str, Any]) -> DepartmentMapper:
    root = write(tmp_path, exports or {"codes": CODES})
    return DepartmentMapper(load_department("health", CATALOG, root), KEY)


def refused(tmp_path: Path, exports: dict[str, Any], department: str = "health") -> str:
    root = write(tmp_path, exports, department)
    with pytest.raises(MappingError) as caught:
        load_department("health", CATALOG, root)
    message = str(caught.value)
    assert message.startswith("health.yaml: ")
    return message


def with_fields(export: dict[str, Any], **fields: Any) -> dict[str, Any]:
    changed = copy.deepcopy(export)
    changed["fields"].update(fields)
    return {"codes": changed}


def code_row(**cells: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "编号": "JKM1",
        "证件号码": PERSON,
        "状态": "红码",
        "时间": "2024-03-05 08:00",
        "原因": "",
    }
    row.update(cells)
    return row


def reject(mapping: DepartmentMapper, row: Mapping[str, str | None]) -> RecordError:
    with pytest.raises(RecordError) as caught:
        mapping(row)
    return caught.value


# --- the YAML is checked against the catalog when it is loaded -----------------------------


def test_a_valid_mapping_maps_a_row(tmp_path: Path) -> None:
    event = mapper(tmp_path)(code_row())
    assert event == Event(
        "health",
        "health-status-changed",
        person_key(PERSON, KEY),
        {
            "event_id": "health:JKM1",
            "department": "health",
            "person_key": person_key(PERSON, KEY),
            "event_time": datetime(2024, 3, 5, 0, 0, tzinfo=UTC),
            "status": "RED",
            "reason": None,
        },
    )


@pytest.mark.parametrize(
    ("exports", "problem"),
    [
        (
            with_fields(CODES, colour="状态"),
            "health-status-changed.colour: gov.health.HealthStatusChanged has no such field",
        ),
        (
            {
                "codes": {
                    **CODES,
                    "fields": {k: v for k, v in CODES["fields"].items() if k != "status"},
                }
            },
            "does not produce the required fields ['status']",
        ),
        (
            with_fields(CODES, status={"from": "状态", "transforms": ["enumm"]}),
            "status.transforms[0]: unknown transform 'enumm'",
        ),
        (
            with_fields(
                CODES, status={"from": "状态", "transforms": [{"enum": {"紫码": "PURPLE"}}]}
            ),
            "maps to ['PURPLE']: not in the enum",
        ),
        (with_fields(CODES, status="状态"), "status: produces string, the field takes symbol"),
        (with_fields(CODES, reason="备注栏"), "reason: '备注栏' is not a declared column"),
        (with_fields(CODES, event_id="编号"), "event_id: is set by the engine"),
        (with_fields(CODES, status={"value": 3}), "status: the constant does not fit symbol"),
        (
            with_fields(
                CODES,
                reason={"from": "原因", "when": {"column": "状态", "in": ["红码"]}},
                status={
                    "from": "状态",
                    "when": {"column": "备注", "in": ["x"]},
                    "transforms": [{"enum": {"红码": "RED"}}],
                },
            ),
            "status.when: the field cannot be empty",
        ),
        (
            with_fields(CODES, reason="证件号码"),
            "['证件号码'] hold personal data and are copied as is",
        ),
        (
            {"codes": {**CODES, "event_id": "{department}:{证件号码}"}},
            "event_id: '证件号码' holds personal data: use hash(证件号码)",
        ),
        (
            {"codes": {**CODES, "event_id": "{department}:{原因}"}},
            "event_id: '原因' is not one of the required columns",
        ),
        ({"codes": {**CODES, "event_id": "health-1"}}, "event_id: needs a template"),
        (
            {"codes": {**CODES, "event": "health-code-painted"}},
            "no schema in the catalog for topic 'src.health.health-code-painted'",
        ),
        ({"codes": {**CODES, "titel": "x"}}, "exports.codes: must be a mapping with keys from"),
        ({"codes": {**CODES, "gazetteer": "feed"}}, "only a dwelling-registered export feeds it"),
        ({"codes": CODES, "again": CODES}, "exports: two exports have the same required columns"),
        (
            {"q": {**QUARANTINE, "events": {"quarantine-ordered": {}}}},
            "q.events: must give the fields of exactly",
        ),
        (
            {
                "q": {
                    **QUARANTINE,
                    "event_by": {"column": "措施", "values": {True: "quarantine-lifted"}},
                }
            },
            "quote the word True",
        ),
        ({}, "exports: declares no export"),
    ],
)
def test_a_mapping_that_contradicts_the_catalog_or_itself_is_refused_naming_the_entry(
    tmp_path: Path, exports: dict[str, Any], problem: str
) -> None:
    assert problem in refused(tmp_path, exports)


def test_the_department_must_be_the_file_s(tmp_path: Path) -> None:
    assert "department: must be 'health'" in refused(tmp_path, {"codes": CODES}, "grid")


def test_a_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "health.yaml").write_text("exports: [unclosed", encoding="utf-8")
    with pytest.raises(MappingError, match=r"health\.yaml: not a readable YAML file"):
        load_department("health", CATALOG, tmp_path)


# --- which export a row belongs to ---------------------------------------------------------


def test_the_export_whose_required_columns_are_all_present_is_used(tmp_path: Path) -> None:
    mapping = mapper(tmp_path, codes=CODES, q=QUARANTINE)
    row = {
        "流水号": "1",
        "措施": "解除",
        "隔离编号": "Q1",
        "证件号码": PERSON,
        "时间": "2024-03-05",
    }
    assert mapping(row).event == "quarantine-lifted"
    assert mapping(code_row()).event == "health-status-changed"


def test_the_most_specific_complete_export_wins(tmp_path: Path) -> None:
    mapping = mapper(tmp_path, codes=CODES, codes_v2=CODES_V2)
    assert mapping(code_row(原因="复核")).event_id == "health:v2:JKM1"
    without_reason = {k: v for k, v in code_row().items() if k != "原因"}
    assert mapping(without_reason).event_id == "health:JKM1"


def test_a_header_missing_a_required_column_gets_the_closest_export_naming_it(
    tmp_path: Path,
) -> None:
    mapping = mapper(tmp_path, codes=CODES, q=QUARANTINE)
    row = {k: v for k, v in code_row().items() if k != "状态"}
    error = reject(mapping, row)
    assert (error.field, error.code) == ("状态", "missing_column")


def test_a_header_sharing_no_required_column_is_not_an_export(tmp_path: Path) -> None:
    error = reject(mapper(tmp_path, codes=CODES, q=QUARANTINE), {"姓名": "x", "电话": "y"})
    assert (error.field, error.code) == ("(header)", "unknown_export")
    assert "健康码" in error.reason


def test_a_header_as_close_to_two_exports_is_ambiguous(tmp_path: Path) -> None:
    error = reject(mapper(tmp_path, codes=CODES, q=QUARANTINE), {"证件号码": PERSON, "时间": "x"})
    assert (error.field, error.code) == ("(header)", "ambiguous_export")


def test_export_for_decides_from_a_file_header_up_front(tmp_path: Path) -> None:
    mapping = mapper(tmp_path, codes=CODES, q=QUARANTINE)
    export = mapping.export_for(["流水号", "措施", "隔离编号", "证件号码", "时间", "方式"])
    assert export.plan.title == "隔离"
    with pytest.raises(RecordError, match="not a known health export"):
        mapping.export_for(["A", "B"])


def test_headers_match_across_full_width_brackets_and_spaces(tmp_path: Path) -> None:
    export = copy.deepcopy(CODES)
    export["required_columns"][0] = "编号(系统)"
    export["event_id"] = "{department}:{编号(系统)}"
    row = code_row()
    row["编号（系统） "] = row.pop("编号")
    assert mapper(tmp_path, codes=export)(row).event_id == "health:JKM1"


def test_one_mapper_serves_rows_of_different_exports(tmp_path: Path) -> None:
    mapping = mapper(tmp_path, codes=CODES, q=QUARANTINE)
    lifted = {
        "流水号": "1",
        "措施": "解除",
        "隔离编号": "Q1",
        "证件号码": PERSON,
        "时间": "2024-03-05",
    }
    events = [mapping(row).event for row in (code_row(), lifted, code_row(), lifted)]
    assert events == ["health-status-changed", "quarantine-lifted"] * 2


# --- values --------------------------------------------------------------------------------


def test_an_unknown_event_word_lists_the_known_ones(tmp_path: Path) -> None:
    row = {
        "流水号": "1",
        "措施": "延长",
        "隔离编号": "Q1",
        "证件号码": PERSON,
        "时间": "2024-03-05",
    }
    error = reject(mapper(tmp_path, q=QUARANTINE), row)
    assert (error.field, error.code, error.reason) == (
        "措施",
        "bad_enum",
        "is not one of 开始, 解除",
    )


def test_a_placeholder_cell_is_empty(tmp_path: Path) -> None:
    assert mapper(tmp_path)(code_row(原因="-")).record["reason"] is None
    error = reject(mapper(tmp_path), code_row(状态="/"))
    assert (error.field, error.code, error.reason) == (
        "状态",
        "missing_field",
        "is a placeholder for an empty cell",
    )


def test_otherwise_fills_an_empty_column_from_another(tmp_path: Path) -> None:
    exports = with_fields(CODES, reason={"from": "原因", "otherwise": "备注"})
    assert mapper(tmp_path, **exports)(code_row(备注="复核")).record["reason"] == "复核"


def test_default_fills_an_empty_column(tmp_path: Path) -> None:
    exports = with_fields(CODES, reason={"from": "原因", "default": "未说明"})
    assert mapper(tmp_path, **exports)(code_row(原因="")).record["reason"] == "未说明"


def test_a_conditional_field_is_null_unless_its_condition_holds(tmp_path: Path) -> None:
    mapping = mapper(tmp_path, q=QUARANTINE)
    row = {
        "流水号": "1",
        "措施": "开始",
        "隔离编号": "Q1",
        "证件号码": PERSON,
        "时间": "2024-03-05",
    }
    home = mapping({**row, "方式": "居家", "地点编码": "GLD-1"}).record
    centralized = mapping({**row, "方式": "集中", "地点编码": "GLD-1"}).record
    assert (home["kind"], home["facility_code"]) == ("HOME", None)
    assert (centralized["kind"], centralized["facility_code"]) == ("CENTRALIZED", "GLD-1")


def test_fields_the_yaml_leaves_out_take_their_avro_default(tmp_path: Path) -> None:
    mapping = mapper(tmp_path, q=QUARANTINE)
    row = {
        "流水号": "1",
        "措施": "解除",
        "隔离编号": "Q1",
        "证件号码": PERSON,
        "时间": "2024-03-05",
    }
    record = mapping(row).record
    assert (record["dwelling_id"], record["outcome"]) == (None, "COMPLETED")


def test_a_hashed_event_id_is_stable_names_the_event_and_hides_its_cells(tmp_path: Path) -> None:
    mapping = mapper(tmp_path, q=QUARANTINE)
    row = {
        "流水号": "GL77",
        "措施": "解除",
        "隔离编号": "Q1",
        "证件号码": PERSON,
        "时间": "2024-03-05",
    }
    first, again = mapping(row).event_id, mapping(dict(row)).event_id
    other = mapping({**row, "时间": "2024-03-06"}).event_id
    assert first == again != other
    assert first.startswith("health:quarantine-lifted:")
    assert "GL77" not in first


def test_a_required_column_of_the_event_id_that_is_empty_is_named(tmp_path: Path) -> None:
    error = reject(mapper(tmp_path), code_row(编号=" "))
    assert (error.field, error.code) == ("编号", "missing_field")


def test_a_short_row_names_the_missing_cell(tmp_path: Path) -> None:
    error = reject(mapper(tmp_path), code_row(时间=None))
    assert (error.field, error.code) == ("时间", "missing_field")
