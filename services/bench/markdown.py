"""The bench's table as Markdown, from a run's JSON report, and the README block it fills.

The README's bench table is never typed: it is what ``render_markdown`` makes of the
JSON report kept beside it (``docs/bench/latest.json``), written between the markers
by ``datong bench --markdown --from docs/bench/latest.json --readme README.md``. A unit
test renders the kept report and compares, so a hand edit or a stale table fails it.
Everything shown comes from the JSON, the run's date, machine and load included, so the
same report always renders the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from services.bench.report import amount, outcome_text
from services.errors import DatongError

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
COLUMNS = ("figure", "value", "limit, same run", "limit value", "ratio", "target")


class ReadmeError(DatongError):
    """The README has no bench block to fill (both markers, in order, once each)."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)  # null: not measured


def _row(figure: Mapping[str, Any]) -> str:
    unit = str(figure["unit"])
    ratio = _number(figure["ratio"])
    cells = (
        str(figure["name"]),
        amount(_number(figure["value"]), unit),
        str(figure["limit_name"]),
        amount(_number(figure["limit"]), unit),
        "n/a" if math.isnan(ratio) else f"{ratio:.2f}",
        outcome_text(figure["target"], figure["verdict"], figure["verdict_reason"]),
    )
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _heading(data: Mapping[str, Any]) -> list[str]:
    machine = data["machine"]
    mode = "Quick run" if data["quick"] else "Full run"
    versions = ", ".join(
        f"{name} {machine[name]}"
        for name in ("kafka-python", "aiokafka", "faust-streaming")
        if name in machine
    )
    sizes = "; ".join(f"{k}: {v}" for k, v in data["sizes"].items())
    return [
        f"{mode} of {data['started']}, {data['seconds']:.0f} s, on {machine['cpus']} cores "
        f"({machine['platform']}, Python {machine['python']}; {versions}), load average "
        f"{machine['load average at start']} at the start and "
        f"{machine['load average at end']} at the end.",
        "",
        f"Sizes: {sizes}.",
    ]


def render_markdown(data: Mapping[str, Any]) -> str:
    """The report ``data`` (``BenchReport.as_json()``, or its JSON read back) as Markdown:
    the run's heading, the table, and what could not be measured."""
    lines = _heading(data)
    lines += [
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| --- | ---: | --- | ---: | ---: | --- |",
        *(_row(figure) for figure in data["figures"]),
    ]
    notes = [f"- could not measure: {e}" for e in data["errors"]]
    notes += [f"- waiting: {w}" for w in data["waiting"]]
    if notes:
        lines += ["", *notes]
    # A marker inside the generated text would end the block early when filled again.
    return "\n".join(lines).replace(BEGIN, "").replace(END, "") + "\n"


def readme_block(readme: str) -> str:
    """What stands between the bench markers of ``readme`` (without the marker lines)."""
    begin, end = _markers(readme)
    return readme[begin + len(BEGIN) : end].removeprefix("\n")


def fill_readme(readme: str, block: str) -> str:
    """``readme`` with the text between its bench markers replaced by ``block``."""
    begin, end = _markers(readme)
    body = block if block.endswith("\n") else block + "\n"
    return readme[: begin + len(BEGIN)] + "\n" + body + readme[end:]


def _markers(readme: str) -> tuple[int, int]:
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise ReadmeError(f"the README needs {BEGIN} and {END} once each")
    begin, end = readme.index(BEGIN), readme.index(END)
    if end < begin:
        raise ReadmeError(f"{END} comes before {BEGIN}")
    return begin, end
