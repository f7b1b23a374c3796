"""A district health commission's own nucleic-acid export and the mapping its IT writes.

The headers are the ones the district's system really exports (issue 15), which differ
from the shipped ``health.yaml``; the mapping lives outside the repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tests.support.factories import resident_id
from tests.support.workbooks import write_xlsx

HEADER = ("样本编号", "受检者身份证号", "受检者姓名", "采样时间", "检测结果(阴性/阳性)", "检测机构")

# The district writes its results as 阴性 and 阳性(+): the second is a word of its own, which
# the contract's words (schemas/enum_words.py) do not know, so only its mapping can name it;
# ``words`` lets a test leave it out to fix it later.
MAPPING = """\
department: health
exports:
  district_test:
    title: 区卫健委核酸检测导出
    required_columns: [样本编号, 受检者身份证号, 检测结果(阴性/阳性), 采样时间]
    optional_columns: [受检者姓名, 检测机构]
    event: test-result-reported
    event_id: "{{department}}:test:{{样本编号}}"
    fields:
      person_key: {{from: 受检者身份证号, transforms: [person_key]}}
      event_time: {{from: 采样时间, transforms: [datetime]}}
      test_id: 样本编号
      test_type: {{value: PCR}}
      result:
        from: 检测结果(阴性/阳性)
        transforms:
          - enum: {{{words}}}
      lab_code: {lab_code}
"""


POSITIVE = "阳性(+)"


def write_mapping(
    path: Path, words: Sequence[str] = ("阴性", POSITIVE), lab_code: str = "检测机构"
) -> Path:
    """The district's mapping file, knowing the result ``words`` given, writing the column
    ``lab_code`` into the lab_code field."""
    symbols = {"阴性": "NEGATIVE", POSITIVE: "POSITIVE"}
    text = MAPPING.format(words=", ".join(f"{w}: {symbols[w]}" for w in words), lab_code=lab_code)
    path.write_text(text, encoding="utf-8")
    return path


def district_rows(count: int, positive_every: int = 3) -> list[tuple[str, ...]]:
    """``count`` rows of the export; every ``positive_every``-th result is positive."""
    return [
        (
            f"HS{n:05d}",
            resident_id(800 + n),
            "王义",
            f"2024-06-0{1 + n % 5} 10:00",
            POSITIVE if n % positive_every == 0 else "阴性",
            "L0101",
        )
        for n in range(1, count + 1)
    ]


def write_export(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> Path:
    """The export as the district saves it: an XLSX workbook."""
    return write_xlsx(path, [header, *rows])
