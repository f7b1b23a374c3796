"""A department's scorecard from its daily tallies: the figures the page and the API show. Pure.

- received = published − resolved + rejected + parked: a row is received once, when the
  connector first decides it (published, dead-lettered or parked); a parked row published
  later on resolution is not received again;
- rejection rate = rejected / received; resolution rate = resolved / parked, over the
  days shown (a row parked one day resolves on another);
- timeliness: p50 and p95 of (arrival − event_time), within 1% (``sketch.py``);
- freshness: now − the newest event_time of any day;
- completeness: per event type and optional field, the share of rows carrying it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from services.quality.tally import DayTally


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _seconds(millis: float | None) -> float | None:
    return None if millis is None else round(millis / 1000, 3)


def day_figures(day: date, tally: DayTally, conflicts: int) -> dict[str, Any]:
    """One day's figures."""
    rejected = sum(tally.rejected.values())
    received = tally.published - tally.resolved + rejected + tally.parked
    return {
        "day": day.isoformat(),
        "received": received,
        "published": tally.published,
        "rejected": rejected,
        "rejected_by_reason": dict(sorted(tally.rejected.items())),
        "rejection_rate": _ratio(rejected, received),
        "parked": tally.parked,
        "resolved": tally.resolved,
        "conflicts": conflicts,
        "timeliness": {
            "events": tally.lag.count,
            "p50_s": _seconds(tally.lag.quantile_ms(0.5)),
            "p95_s": _seconds(tally.lag.quantile_ms(0.95)),
        },
        "completeness": {
            event: {name: _ratio(n, fields.rows) for name, n in sorted(fields.present.items())}
            for event, fields in sorted(tally.completeness.items())
        },
    }


def scorecard(
    department: str,
    days: Mapping[date, DayTally],
    conflicts: Mapping[date, int],
    now_ms: int,
) -> dict[str, Any]:
    """The scorecard of ``department`` over ``days`` (newest first), with totals."""
    total = DayTally()
    for tally in days.values():
        total.absorb(tally)
    shown = sorted(set(days) | set(conflicts), reverse=True)
    per_day = [day_figures(d, days.get(d, DayTally()), conflicts.get(d, 0)) for d in shown]
    totals = day_figures(date.min, total, sum(conflicts.values()))
    del totals["day"]
    totals["resolution_rate"] = _ratio(total.resolved, total.parked)
    newest = total.newest_event_ms
    return {
        "department": department,
        "newest_event_ms": newest,
        "freshness_s": None if newest is None else max(0, now_ms - newest) / 1000,
        "totals": totals,
        "days": per_day,
    }
