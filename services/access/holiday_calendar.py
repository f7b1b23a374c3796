"""The operator's holiday calendar file (``DATONG_HOLIDAY_CALENDAR``), read strictly.

The State Council publishes next year's holiday notice (放假安排通知) in November; a data
bureau enters it here rather than wait for a ``chinese-calendar`` release. The file is a
small YAML (or JSON) mapping of years to that year's days off and swapped working days::

    # 国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔2026〕N号)
    2027:
      holidays: [2027-01-01, 2027-02-06, ...]   # days off, weekend ones allowed
      working_days: [2027-02-14, ...]           # weekend days that are working days

A year in the file replaces the package's for that year (``working_days.WorkingCalendar``).
``parse`` is pure, text to calendar; ``load`` reads the file at the edge. Every scalar is
taken as text (no YAML typing: ``2_027`` or ``2027-1-1`` are refused, not reinterpreted),
and a mistake stops the hub at start naming the file, its line, the year and the entry.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import yaml

from services.access.working_days import WorkingCalendar, YearNotice
from services.errors import ConfigError

MAX_BYTES = 64 * 1024  # a notice is about 30 days a year: this holds centuries of them
KEYS = ("holidays", "working_days")
_YEAR = re.compile(r"[0-9]{4}")  # [0-9], not \d: only ASCII digits
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_SATURDAY = 5


class HolidayCalendarError(ConfigError):
    """The holiday calendar file is missing, too large or malformed."""


def load(path: Path | None) -> WorkingCalendar:
    """The working calendar: the package's, with the file at ``path`` (if any) over it."""
    if path is None:
        return WorkingCalendar()
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise HolidayCalendarError(
            f"{path}: the holiday calendar file (DATONG_HOLIDAY_CALENDAR) cannot be read: "
            f"{exc.strerror or exc}"
        ) from None
    if len(data) > MAX_BYTES:
        raise HolidayCalendarError(_too_large(str(path)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HolidayCalendarError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return parse(text, str(path))


def parse(text: str, source: str) -> WorkingCalendar:
    """The calendar in ``text``, the file ``source``; HolidayCalendarError naming the entry."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise HolidayCalendarError(_too_large(source))
    try:
        root = yaml.compose(text, Loader=yaml.BaseLoader)
    except yaml.MarkedYAMLError as exc:
        line = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise HolidayCalendarError(f"{source}{line}: not YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise HolidayCalendarError(f"{source}: not YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(root, yaml.MappingNode):
        raise HolidayCalendarError(
            f"{source}: expected a mapping of years ('2027:') to their 'holidays' and "
            "'working_days', not " + _kind(root)
        )
    notices: dict[int, YearNotice] = {}
    for key, value in _pairs(root, source):
        year = _year(key, source)
        if year in notices:
            raise HolidayCalendarError(f"{_at(source, key)}: {year} is listed twice")
        notices[year] = _notice(year, value, f"{source}: {year}")
    return WorkingCalendar(notices, source)


def _notice(year: int, node: yaml.Node, where: str) -> YearNotice:
    if not isinstance(node, yaml.MappingNode):
        raise HolidayCalendarError(
            f"{where} (line {_line(node)}): expected 'holidays' and 'working_days', "
            f"not {_kind(node)}"
        )
    lists: dict[str, frozenset[date]] = {}
    for key, value in _pairs(node, where):
        name = _text(key)
        if name not in KEYS:
            raise HolidayCalendarError(
                f"{where}: {name!r} (line {_line(key)}) is not 'holidays' or 'working_days'"
            )
        if name in lists:
            raise HolidayCalendarError(f"{where}: {name} (line {_line(key)}) is listed twice")
        lists[name] = _days(year, value, f"{where}: {name}")
    missing = [k for k in KEYS if k not in lists]
    if missing:
        raise HolidayCalendarError(
            f"{where} (line {_line(node)}): no {missing[0]!r} list (write '{missing[0]}: []' "
            "for none)"
        )
    for day in sorted(lists["working_days"]):
        if day.weekday() < _SATURDAY:
            raise HolidayCalendarError(
                f"{where}: working_days: {day} is a {day:%A}; list only the Saturdays and "
                "Sundays that are worked (a weekday is a working day already)"
            )
    both = sorted(lists["holidays"] & lists["working_days"])
    if both:
        raise HolidayCalendarError(f"{where}: {both[0]} is in both holidays and working_days")
    return YearNotice(lists["holidays"], lists["working_days"])


def _days(year: int, node: yaml.Node, where: str) -> frozenset[date]:
    if not isinstance(node, yaml.SequenceNode):
        raise HolidayCalendarError(
            f"{where} (line {_line(node)}): expected a list of days [YYYY-MM-DD, ...], "
            f"not {_kind(node)}"
        )
    days: set[date] = set()
    for item in node.value:
        day = _day(item, f"{where} (line {_line(item)})")
        if day.year != year:
            raise HolidayCalendarError(f"{where} (line {_line(item)}): {day} is not in {year}")
        if day in days:
            raise HolidayCalendarError(f"{where} (line {_line(item)}): {day} is listed twice")
        days.add(day)
    return frozenset(days)


def _day(node: yaml.Node, where: str) -> date:
    text = _text(node)
    found = _DAY.fullmatch(text) if text is not None else None
    if found is None:
        shown = repr(text) if text is not None else _kind(node)
        raise HolidayCalendarError(f"{where}: {shown} is not a day YYYY-MM-DD in ASCII digits")
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError as exc:
        raise HolidayCalendarError(f"{where}: {text!r} is not a day: {exc}") from None


def _year(node: yaml.Node, source: str) -> int:
    text = _text(node)
    if text is None or not _YEAR.fullmatch(text) or text == "0000":
        shown = repr(text) if text is not None else _kind(node)
        raise HolidayCalendarError(
            f"{_at(source, node)}: {shown} is not a year (4 ASCII digits, like 2027)"
        )
    return int(text)


def _pairs(node: yaml.MappingNode, where: str) -> list[tuple[yaml.Node, yaml.Node]]:
    """A mapping's entries; a merge key ('<<') would hide where an entry came from."""
    for key, _ in node.value:
        if key.tag == "tag:yaml.org,2002:merge" or _text(key) == "<<":
            raise HolidayCalendarError(f"{_at(where, key)}: a merge key '<<' is not allowed")
    return list(node.value)


def _text(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _kind(node: yaml.Node | None) -> str:
    if node is None:
        return "an empty document"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"{node.value!r}" if node.value else "nothing"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _at(where: str, node: yaml.Node) -> str:
    return f"{where} (line {_line(node)})"


def _too_large(source: str) -> str:
    return (
        f"{source}: larger than {MAX_BYTES // 1024} KiB; a holiday calendar is a few lines a year"
    )
