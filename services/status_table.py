"""``datong status``'s tables: a :class:`~services.status.Status` as plain text for a terminal."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from services.status import OUTCOMES, Feed, Status


def render(status: Status) -> str:
    """The summary as plain-text tables for a terminal."""
    down = status.unreachable
    lines = [f"datong status: {len(status.endpoints)} endpoints, {len(down)} unreachable", ""]
    lines += _section(
        "ENDPOINTS",
        ("URL", "STATE"),
        [(url, "ok" if error is None else error) for url, error in status.endpoints.items()],
        numeric=(),
    )
    outcomes = _outcomes(status.feeds)
    lines += _section(
        "FEEDS (merged into views)",
        ("VIEW", "DEPARTMENT", *(o.upper() for o in outcomes), "P50", "P99", "FRESHNESS"),
        [_feed_cells(feed, outcomes) for feed in status.feeds],
        numeric=range(2, 2 + len(outcomes) + 3),
    )
    lines += _section(
        "CONSUMER LAG",
        ("GROUP", "TOPIC", "LAG"),
        [(lag.group, lag.topic, _count(lag.records)) for lag in status.lag],
        numeric=(2,),
    )
    lines += _section(
        "DEAD LETTERS",
        ("DEPARTMENT", "RECORDS"),
        [(dept, _count(n)) for dept, n in status.dead_letters.items()],
        numeric=(1,),
    )
    return "\n".join(lines).rstrip() + "\n"


def _outcomes(feeds: Sequence[Feed]) -> list[str]:
    seen = {outcome for feed in feeds for outcome in feed.events}
    return [o for o in OUTCOMES if o in seen or not seen] + sorted(seen - set(OUTCOMES))


def _feed_cells(feed: Feed, outcomes: Sequence[str]) -> list[str]:
    return [
        feed.view,
        feed.department,
        *(_count(feed.events.get(o, 0.0)) for o in outcomes),
        _latency(feed.p50_s, feed.latency_ceiling_s),
        _latency(feed.p99_s, feed.latency_ceiling_s),
        _duration(feed.freshness_s),
    ]


def _section(
    title: str, header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Iterable[int]
) -> list[str]:
    if not rows:
        return [title, "  (nothing reported)", ""]
    right = set(numeric)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  " + "  ".join(padded).rstrip()

    return [title, line(header), *(line(row) for row in rows), ""]


def _count(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def _latency(seconds: float | None, ceiling: float | None) -> str:
    if seconds is not None and ceiling is not None and seconds >= ceiling:
        return ">=" + _duration(ceiling)
    return _duration(seconds)


def _duration(seconds: float | None) -> str:
    """Human-sized durations; a negative one (an event stamped ahead of the clock) keeps
    its sign so clock skew at a department stays visible."""
    if seconds is None or math.isnan(seconds):
        return "-"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < 1:
        return f"{sign}{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{sign}{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    first = next(i for i, (n, _) in enumerate(parts) if n)  # seconds >= 60: minutes at least
    return sign + " ".join(f"{n}{unit}" for n, unit in parts[first : first + 2] if n)
