"""A department's own mapping file: where it is found, what it must say, and a file of the
wrong export refused once with what was expected and what was found."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.mappings import MAPPINGS, FileMapping, department_mappings
from connectors.mappings.loader import load_mapping_file
from connectors.mappings.mapper import DepartmentMapper, ExportMismatch, MappingError
from schemas.catalog import Catalog
from tests.support.district_export import HEADER, write_mapping

KEY = b"k" * 32


def test_a_mappings_folder_replaces_only_the_departments_it_has_a_file_for(
    tmp_path: Path,
) -> None:
    write_mapping(tmp_path / "health.yaml")
    chosen = department_mappings(tmp_path)
    assert chosen["health"] == FileMapping(tmp_path / "health.yaml", "health")
    assert chosen["public-security"] is MAPPINGS["public-security"]
    assert department_mappings(None) == MAPPINGS


def test_a_mappings_folder_that_does_not_exist_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="DATONG_MAPPINGS_DIR"):
        department_mappings(tmp_path / "absent")


def test_a_mapping_file_for_another_department_is_refused(tmp_path: Path) -> None:
    path = write_mapping(tmp_path / "mine.yaml")
    with pytest.raises(MappingError, match="department: is 'health', this connector is 'grid'"):
        load_mapping_file(path, Catalog.load(), "grid")
    path.write_text("department: weather\nexports: {}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="department: must name one of"):
        load_mapping_file(path, Catalog.load())


def test_a_header_of_no_export_is_refused_for_the_whole_file(tmp_path: Path) -> None:
    mapper = DepartmentMapper(
        load_mapping_file(write_mapping(tmp_path / "h.yaml"), Catalog.load()), KEY
    )
    assert mapper.export_for_file(HEADER, "ok.xlsx").plan.name == "district_test"
    with pytest.raises(ExportMismatch) as caught:
        mapper.export_for_file(["样本号", "身份证", "采样时间", ""], "核酸.xlsx")
    assert str(caught.value).startswith("核酸.xlsx: its header fits no health export of ")
    assert "the closest is district_test (区卫健委核酸检测导出)" in str(caught.value)
    assert (
        "found 采样时间 and 2 columns no export knows; "
        "missing 样本编号, 受检者身份证号, 检测结果(阴性/阳性)" in str(caught.value)
    )


def test_a_file_without_a_header_row_is_refused_without_repeating_its_first_row(
    tmp_path: Path,
) -> None:
    mapper = DepartmentMapper(
        load_mapping_file(write_mapping(tmp_path / "h.yaml"), Catalog.load()), KEY
    )
    first_row = ["王义", "110105194912310021", "13812345678"]  # a resident, not a header
    with pytest.raises(ExportMismatch) as caught:
        mapper.export_for_file(first_row, "核酸.xlsx")
    message = str(caught.value)
    assert "found 3 columns no export knows" in message
    assert not any(value in message for value in first_row), message
