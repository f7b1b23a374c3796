"""CSV exports: encodings, ragged rows, multi-line fields, truncation and resuming."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.base import SourceRecord
from connectors.errors import SourceError
from connectors.sources.csv_file import MAX_FIELD_CHARS, CsvFile
from tests.support.factories import REGISTRY_HEADER, registry_csv, registry_rows, write_registry_csv

HEADER = "编号,姓名,住址\r\n"


def csv_file(tmp_path: Path, data: bytes, name: str = "export.csv") -> CsvFile:
    path = tmp_path / name
    path.write_bytes(data)
    return CsvFile(path)


def read(source: CsvFile, after: int | None = None) -> list[SourceRecord]:
    return list(source.records(after))


def summary(record: SourceRecord) -> tuple[int | str, dict[str, str | None], str | None, bytes]:
    """What a record says, comparable across reads (errors compare by identity)."""
    code = record.error.code if record.error else None
    return record.position, dict(record.fields), code, record.raw


def utf8(*lines: str) -> bytes:
    return "".join(lines).encode("utf-8")


# --- encodings ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_utf8_utf8_with_bom_and_gb18030_decode_the_same_rows(tmp_path: Path, encoding: str) -> None:
    rows = registry_rows(5)
    expected = [dict(zip(REGISTRY_HEADER, row.cells(), strict=True)) for row in rows]
    path = write_registry_csv(tmp_path / f"{encoding}.csv", rows, encoding)
    records = read(CsvFile(path))
    assert [r.error for r in records] == [None] * 5
    assert [dict(r.fields) for r in records] == expected
    assert [r.position for r in records] == [1, 2, 3, 4, 5]


def test_the_bom_does_not_stick_to_the_first_column_name(tmp_path: Path) -> None:
    source = csv_file(tmp_path, registry_csv(registry_rows(1), "utf-8-sig"))
    (record,) = read(source)
    assert next(iter(record.fields)) == REGISTRY_HEADER[0]


def test_an_explicit_encoding_overrides_detection(tmp_path: Path) -> None:
    path = write_registry_csv(tmp_path / "gbk.csv", registry_rows(2), "gb18030")
    records = read(CsvFile(path, encoding="gb18030"))
    assert [r.fields[REGISTRY_HEADER[0]] for r in records] == ["RB0000001", "RB0000002"]


def test_an_unsupported_encoding_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="big5"):
        CsvFile(tmp_path / "x.csv", encoding="big5")


def test_a_gb18030_line_in_a_utf8_file_is_a_bad_encoding_record_and_the_rest_still_come(
    tmp_path: Path,
) -> None:
    data = utf8(HEADER, "1,张三,幸福里1号\r\n") + "2,李四,幸福里2号\r\n".encode("gb18030")
    data += utf8("3,王五,幸福里3号\r\n")
    first, bad, last = read(csv_file(tmp_path, data))
    assert first.fields["姓名"] == "张三"
    assert bad.position == 2
    assert bad.error is not None
    assert bad.error.code == "bad_encoding"
    assert dict(bad.fields) == {}
    assert bad.raw == "2,李四,幸福里2号\r\n".encode("gb18030")  # kept for the dead letter
    assert "李四" not in str(bad.error)
    assert (last.position, last.fields["姓名"], last.error) == (3, "王五", None)


# --- ragged and multi-line rows ----------------------------------------------------------


def test_a_row_with_more_columns_than_the_header_is_extra_columns(tmp_path: Path) -> None:
    data = utf8(HEADER, "1,张三,幸福里1号,多余\r\n2,李四,幸福里2号\r\n")
    extra, ok = read(csv_file(tmp_path, data))
    assert extra.error is not None
    assert extra.error.code == "extra_columns"
    assert dict(extra.fields) == {}
    assert (ok.position, ok.error) == (2, None)


def test_missing_trailing_columns_are_none(tmp_path: Path) -> None:
    (record,) = read(csv_file(tmp_path, utf8(HEADER, "1,张三\r\n")))
    assert record.error is None
    assert dict(record.fields) == {"编号": "1", "姓名": "张三", "住址": None}


def test_an_empty_cell_is_an_empty_string_not_none(tmp_path: Path) -> None:
    (record,) = read(csv_file(tmp_path, utf8(HEADER, "1,,幸福里1号\r\n")))
    assert record.fields["姓名"] == ""


def test_a_quoted_field_may_span_lines(tmp_path: Path) -> None:
    data = utf8(HEADER, '1,张三,"幸福里1号\r\n1单元101"\r\n2,李四,"逗号,和""引号"""\r\n')
    first, second = read(csv_file(tmp_path, data))
    assert (first.position, first.fields["住址"]) == (1, "幸福里1号\r\n1单元101")
    assert (second.position, second.fields["住址"]) == (2, '逗号,和"引号"')


def test_blank_lines_are_skipped_and_take_no_position(tmp_path: Path) -> None:
    data = utf8(HEADER, "1,张三,a\r\n\r\n   \r\n2,李四,b\r\n")
    assert [(r.position, r.fields["编号"]) for r in read(csv_file(tmp_path, data))] == [
        (1, "1"),
        (2, "2"),
    ]


def test_a_file_ending_inside_a_quote_yields_a_truncated_record(tmp_path: Path) -> None:
    data = utf8(HEADER, "1,张三,a\r\n", '2,李四,"幸福里\r\n2号')
    ok, truncated = read(csv_file(tmp_path, data))
    assert ok.error is None
    assert truncated.position == 2
    assert truncated.error is not None
    assert truncated.error.code == "truncated"
    assert "李四" not in str(truncated.error)


def test_an_oversized_field_is_too_long_and_names_its_column(tmp_path: Path) -> None:
    data = utf8(HEADER, f"1,张三,{'长' * (MAX_FIELD_CHARS + 1)}\r\n2,李四,b\r\n")
    long_row, ok = read(csv_file(tmp_path, data))
    assert long_row.error is not None
    assert (long_row.error.code, long_row.error.field) == ("too_long", "住址")
    assert "长长" not in str(long_row.error)
    assert ok.error is None


def test_a_field_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    (record,) = read(csv_file(tmp_path, utf8(HEADER, f"1,张三,{'长' * MAX_FIELD_CHARS}\r\n")))
    assert record.error is None


def test_records_carry_their_source_name_and_position(tmp_path: Path) -> None:
    source = csv_file(tmp_path, utf8(HEADER, "1,张三,a\r\n"))
    (record,) = read(source)
    assert record.source == str(tmp_path / "export.csv")
    assert record.where == f"{tmp_path / 'export.csv'}#1"


# --- resuming ----------------------------------------------------------------------------


@pytest.mark.parametrize("after", [0, 1, 3, 5, 7])
def test_records_after_n_resume_where_a_full_read_would_continue(
    tmp_path: Path, after: int
) -> None:
    data = utf8(HEADER, "1,a,x\r\n", '2,b,"multi\r\nline"\r\n', "\r\n", "3,c,x,extra\r\n")
    data += "4,d,x\r\n".encode("gb18030") + utf8("5,张三,x\r\n", "6,e,x\r\n", '7,f,"open')
    source = csv_file(tmp_path, data)
    full = read(source)
    assert [r.position for r in full] == [1, 2, 3, 4, 5, 6, 7]
    resumed = [summary(r) for r in read(source, after)]
    assert resumed == [summary(r) for r in full if int(r.position) > after]


def test_records_after_the_last_position_is_empty(tmp_path: Path) -> None:
    source = csv_file(tmp_path, utf8(HEADER, "1,a,x\r\n2,b,y\r\n"))
    assert read(source, 2) == []


def test_none_means_from_the_start(tmp_path: Path) -> None:
    source = csv_file(tmp_path, utf8(HEADER, "1,a,x\r\n2,b,y\r\n"))
    assert [r.position for r in read(source, None)] == [1, 2]


# --- whole-file failures -----------------------------------------------------------------


def test_an_empty_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="empty"):
        read(csv_file(tmp_path, b""))


def test_a_file_of_blank_lines_has_no_header_and_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        read(csv_file(tmp_path, b"\r\n\r\n"))


def test_a_header_that_decodes_in_no_supported_encoding_is_a_source_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(SourceError, match="header"):
        read(csv_file(tmp_path, b"\xff\xfe\xff,b\r\n1,2\r\n"))


def test_a_gb18030_header_read_as_utf8_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(HEADER.encode("gb18030"))
    with pytest.raises(SourceError, match="header"):
        read(CsvFile(path, encoding="utf-8"))


def test_a_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        read(CsvFile(tmp_path / "absent.csv"))


# --- formulas (CSV injection) --------------------------------------------------------------

# Every character str.isspace() calls whitespace: a clerk's tab, an ideographic space, ...
WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) not in "\r\n"]


@pytest.mark.parametrize("column", [0, 1, 2])
@pytest.mark.parametrize("cell", ["=1+1", "@SUM(A1)", "+cmd", "-x", "\t=1", "\u3000=1"])
def test_a_cell_starting_like_a_formula_rejects_its_row_in_any_column(
    tmp_path: Path, column: int, cell: str
) -> None:
    cells = ["1", "张三", "幸福里1号"]
    cells[column] = cell
    bad, ok = read(csv_file(tmp_path, utf8(HEADER, ",".join(cells), "\r\n2,李四,幸福里2号\r\n")))
    assert bad.error is not None
    assert (bad.error.code, bad.error.field) == ("formula", HEADER.split(",")[column].strip())
    assert (ok.position, ok.error) == (2, None)


def test_any_whitespace_before_a_formula_is_seen_through(tmp_path: Path) -> None:
    rows = "".join(f"{n},张三,{space}=1\r\n" for n, space in enumerate(WHITESPACE, 1))
    records = read(csv_file(tmp_path, utf8(HEADER, rows)))
    assert len(records) == len(WHITESPACE)
    assert all(r.error is not None and r.error.code == "formula" for r in records)


@pytest.mark.parametrize(
    "cell", ["2024-03-05 10:00:00", "a=b", "幸福里-1号", "-5", "+86 138-1234-5678", "", "1 2"]
)
def test_formula_characters_inside_a_cell_or_a_signed_number_are_plain_text(
    tmp_path: Path, cell: str
) -> None:
    (record,) = read(csv_file(tmp_path, utf8(HEADER, f"1,{cell},幸福里1号\r\n")))
    assert record.error is None
    assert record.fields["姓名"] == cell
