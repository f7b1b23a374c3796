"""What an epidemic's test window asks of a community: residents without a recent negative test.

The count depends on the time, not only on the rows: a negative test stops counting N hours
after its sample was taken, whether or not anything happens meanwhile. So the rows keep no
such count. Each resident whose latest test is NEGATIVE counts in ``negative_at/<hour>``,
the hour its sample was taken in (a count kept by deltas like every other, exact whatever
order events arrive in, and the same whatever the window is); the record is rendered from
those at a given time, ``EpidemicWindow.now_ms``. A negative test counts from the start of
its hour, so it stops counting up to an hour early, never late, and the rendered count
changes only on the hour: the worker renders every community again each hour
(``MergeProcessor.refresh``), as well as whenever a fold changes it.

Pure: the time is given, never read here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HOUR_MS = 3_600_000
NEGATIVE_AT = "negative_at/"  # a count figure: residents whose latest test is NEGATIVE, by hour


@dataclass(frozen=True)
class EpidemicWindow:
    """The test window an epidemic setting asks for, and the time a record is rendered at."""

    hours: int
    now_ms: int


def negative_figure(values: Mapping[str, Any]) -> str | None:
    """The count figure of a resident whose latest test is NEGATIVE (by the hour its sample
    was taken in), or None."""
    taken = values.get("latest_test_at")
    if values.get("latest_test_result") != "NEGATIVE" or taken is None:
        return None
    return f"{NEGATIVE_AT}{int(taken) // HOUR_MS}"


def without_negative_test(counts: Mapping[str, int], window: EpidemicWindow) -> int:
    """Residents whose latest test is not a NEGATIVE one taken within the window: every
    resident, less those counted in an hour that began less than ``hours`` hours ago."""
    oldest = window.now_ms // HOUR_MS - window.hours + 1  # the earliest hour still inside
    recent = sum(
        n
        for figure, n in counts.items()
        if figure.startswith(NEGATIVE_AT) and int(figure[len(NEGATIVE_AT) :]) >= oldest
    )
    return counts.get("residents", 0) - recent
