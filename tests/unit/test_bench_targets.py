"""What the issue's targets ask of a figure, and when a figure fails, worked out by hand."""

from __future__ import annotations

import math

import pytest

from services.bench.report import (
    AT_MOST,
    BELOW,
    FAILED,
    MET,
    MISSED,
    NOT_MEASURED,
    OVER_LIMIT,
    Figure,
    Target,
)


def latency(p99_ms: float, reached: float | None, lost: int = 0) -> Figure:
    """A PostgreSQL p99 at 1,000/s offered, held to the issue's 500 ms."""
    return Figure(
        "event-to-view latency p99",
        p99_ms,
        "raw aiokafka at the same rate",
        150.0,
        "ms",
        Target(500.0, BELOW, load=1_000.0),
        lost=lost,
        reached=reached,
    )


def test_a_ratio_is_the_figure_over_its_limit() -> None:
    assert Figure("merge rate", 300.0, "bare faust agent", 1200.0, "events/s").ratio == 0.25
    assert math.isnan(Figure("outbox rows", 3.0, "0", 0.0, "rows").ratio)


def test_a_rate_target_is_met_from_seven_tenths_of_its_limit_on() -> None:
    target = Target(0.7)

    assert target.holds(700.0, 1000.0)
    assert not target.holds(699.0, 1000.0)
    assert not target.holds(700.0, 0.0)  # no limit measured: nothing is met against it
    assert target.label("events/s") == ">= 0.70x"


def test_a_latency_target_is_met_below_its_bound_at_the_load_it_names() -> None:
    assert latency(420.0, reached=990.0).verdict.outcome == MET
    assert latency(499.9, reached=1_000.0).met is True
    assert latency(500.0, reached=1_000.0).verdict.outcome == MISSED
    assert Target(500.0, BELOW, load=1_000.0).label("ms") == "< 500 ms at 1,000/s"


def test_a_latency_at_a_load_the_sender_did_not_reach_misses_its_target_saying_so() -> None:
    fast_but_light = latency(120.0, reached=940.0)  # 94% of 1,000/s: below the 95% reached

    assert fast_but_light.verdict.outcome == MISSED
    assert fast_but_light.verdict.reason == "reached 940/s of 1,000/s"
    assert latency(120.0, reached=950.0).verdict.outcome == MET
    assert latency(120.0, reached=None).verdict.reason == "reached no load of 1,000/s"


def test_a_figure_that_lost_an_event_fails_whatever_its_value() -> None:
    with_target = latency(120.0, reached=1_000.0, lost=3)
    without = Figure("p50", 80.0, "raw", 40.0, "ms", lost=1)

    assert (with_target.verdict.outcome, with_target.verdict.reason) == (MISSED, "3 never arrived")
    assert (without.verdict.outcome, without.verdict.reason) == (FAILED, "1 never arrived")
    assert without.met is None  # no target, but failed all the same


def test_a_count_held_to_zero_is_met_only_at_zero() -> None:
    target = Target(0.0, AT_MOST)

    assert target.holds(0.0, 0.0) and not target.holds(1.0, 0.0)
    assert target.label("rows") == "= 0 rows"
    kept = Figure("outbox rows kept", 2_400.0, "0: deleted once published", 0.0, "rows", target)
    assert kept.verdict.outcome == MISSED and kept.met is False


def test_a_target_over_the_limit_allows_the_bound_on_top_of_it() -> None:
    target = Target(100.0, OVER_LIMIT)

    assert target.holds(350.0, 250.0)
    assert not target.holds(350.5, 250.0)
    assert target.label("ms") == "<= limit + 100 ms"


def test_a_figure_that_could_not_be_measured_says_why_and_meets_nothing() -> None:
    figure = Figure(
        "retries",
        math.nan,
        "0",
        0.0,
        "retries",
        Target(0.0, AT_MOST),
        {NOT_MEASURED: "the workers expose no datong_merge_retries_total"},
    )

    assert figure.verdict.outcome == NOT_MEASURED
    assert figure.verdict.reason == "the workers expose no datong_merge_retries_total"
    assert figure.met is False


def test_a_figure_without_a_target_has_no_verdict() -> None:
    figure = Figure("peak memory", 96.0, "raw producer", 48.0, "MiB")

    assert figure.verdict.outcome == "" and figure.met is None


def test_an_unknown_comparison_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError, match="sideways"):
        Target(1.0, "sideways").holds(1.0, 1.0)
