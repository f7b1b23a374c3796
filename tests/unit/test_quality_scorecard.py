"""Feed scorecards: lag percentiles against the slow exact reading, and the day's arithmetic
against counts written out by hand from the rules in ``services/quality/scorecard.py``."""

from __future__ import annotations

import math
import random
from datetime import date

import pytest

from schemas.headers import PARKED, RESOLVED
from services.quality.scorecard import scorecard
from services.quality.sketch import RELATIVE_ACCURACY, LagSketch
from services.quality.tally import DayTally, day_of


def exact_quantile(values: list[float], q: float) -> float:
    """Nearest rank, the obvious slow way: sort everything, take the ceil(q * n)-th value."""
    ordered = sorted(max(0.0, v) for v in values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def close_to(exact: float, estimate: float | None) -> bool:
    assert estimate is not None
    if exact < 1:
        return estimate == 0
    return abs(estimate - exact) <= RELATIVE_ACCURACY * exact * 1.0001


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("q", [0.5, 0.95, 0.01, 1.0])
def test_lag_quantiles_are_within_one_percent_of_the_exact_nearest_rank(
    seed: int, q: float
) -> None:
    rng = random.Random(seed)
    lags = [rng.lognormvariate(8, 3) for _ in range(rng.randrange(1, 400))]
    lags += [-rng.uniform(0, 5000) for _ in range(rng.randrange(0, 20))]  # clocks ahead
    assert close_to(exact_quantile(lags, q), LagSketch.of(lags).quantile_ms(q))


def test_sketches_of_two_batches_add_up_to_the_sketch_of_both() -> None:
    rng = random.Random(5)
    first = [rng.uniform(0, 10**7) for _ in range(300)]
    second = [rng.uniform(0, 10**3) for _ in range(300)]
    both = LagSketch.of(first)
    both.absorb(LagSketch.of(second))
    assert both == LagSketch.of(first + second)
    assert LagSketch.from_json(both.to_json()) == both


def test_an_empty_sketch_has_no_percentile() -> None:
    assert LagSketch().quantile_ms(0.5) is None


def test_days_are_china_days_of_the_arrival() -> None:
    # 2024-06-03 16:30 UTC is 2024-06-04 00:30 in China.
    assert day_of(1717432200000) == date(2024, 6, 4)
    assert day_of(1717432200000 - 3600_000) == date(2024, 6, 3)


def test_a_day_counts_rows_received_once_whatever_became_of_them() -> None:
    tally = DayTally()
    for i in range(7):
        tally.event("health-code-changed", 1000, 1000 + 60_000 * (i + 1), ["reason"], {})
    for code in ("invalid_id", "invalid_id", "bad_date"):
        tally.dead_letter(code)
    for outcome in (PARKED, PARKED, PARKED, RESOLVED):
        tally.notice(outcome)
    card = scorecard("health", {date(2024, 6, 4): tally}, {date(2024, 6, 4): 2}, 10**6)
    day = card["days"][0]
    # By hand: 7 published, one of which was a resolved parked row, so 6 first decisions,
    # + 3 dead letters + 3 parked = 12 received; 3 of 12 rejected.
    assert (day["received"], day["published"], day["rejected"]) == (12, 7, 3)
    assert day["rejected_by_reason"] == {"bad_date": 1, "invalid_id": 2}
    assert day["rejection_rate"] == 3 / 12
    assert (day["parked"], day["resolved"], day["conflicts"]) == (3, 1, 2)
    assert card["totals"]["resolution_rate"] == 1 / 3
    # Lags 1..7 minutes: the 4th (rank ceil(3.5)) and 7th (ceil(6.65)) values.
    assert close_to(240_000, day["timeliness"]["p50_s"] * 1000)
    assert close_to(420_000, day["timeliness"]["p95_s"] * 1000)


def test_completeness_is_the_share_of_rows_carrying_each_optional_field() -> None:
    tally = DayTally()
    optional = ["phone_masked", "address"]
    rows: list[dict[str, str | None]] = [
        {"phone_masked": "138****0000", "address": None},
        {"phone_masked": None},
        {},
        {},
    ]
    for record in rows:
        tally.event("resident-registered", 0, 0, optional, record)
    card = scorecard("public-security", {date(2024, 6, 4): tally}, {}, 0)
    assert card["days"][0]["completeness"] == {
        "resident-registered": {"address": 0.0, "phone_masked": 0.25}
    }


def test_freshness_is_the_time_since_the_newest_event_of_any_day() -> None:
    older, newer = DayTally(), DayTally()
    older.event("e", 5_000, 6_000, [], {})
    newer.event("e", 3_000, 90_000_000, [], {})  # arrived later, happened earlier
    card = scorecard("health", {date(2024, 6, 3): older, date(2024, 6, 4): newer}, {}, 65_000)
    assert card["freshness_s"] == 60.0
    assert [d["day"] for d in card["days"]] == ["2024-06-04", "2024-06-03"]


def test_a_stored_tally_reads_back_equal() -> None:
    tally = DayTally()
    tally.event("e", 0, 1500, ["a", "b"], {"a": 1})
    tally.dead_letter("formula")
    tally.notice(PARKED)
    assert DayTally.from_json(tally.to_json()) == tally


def test_a_notice_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="parked or resolved"):
        DayTally().notice("lost")
