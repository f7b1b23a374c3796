"""The bench's statistics, against answers worked out by hand: a lost event is counted at
the run's timeout, a rate is what the run reached."""

from __future__ import annotations

import math

import pytest

from services.bench.processes import SCRAPE_INTERVAL_S, Span
from services.bench.stats import (
    arrival_latencies,
    bucket_bound,
    nearest_rank,
    order_statistics,
    sent_rate,
    timed,
)


def test_p50_p99_and_max_are_real_samples_by_nearest_rank() -> None:
    stats = order_statistics([0.3, 0.1, 0.5, 0.2, 0.4], offered=1000.0, achieved=990.0)

    # Five samples: p50 is the 3rd smallest (ceil(2.5)), p99 the 5th (ceil(4.95)).
    assert (stats.p50, stats.p99, stats.max) == (0.3, 0.5, 0.5)
    assert (stats.samples, stats.lost) == (5, 0)
    assert (stats.offered_rate, stats.achieved_rate) == (1000.0, 990.0)


def test_the_p99_of_a_hundred_samples_is_the_99th_smallest() -> None:
    samples = [i / 100 for i in range(1, 101)]  # 0.01 ... 1.00

    assert nearest_rank(samples, 0.99) == 0.99
    assert nearest_rank(samples, 0.5) == 0.5
    assert math.isnan(nearest_rank([], 0.5))


def test_one_lost_event_in_a_hundred_is_the_max_and_two_are_the_p99() -> None:
    one = order_statistics([0.2] * 99, lost=1, timeout_s=60.0, offered=1.0, achieved=1.0)
    two = order_statistics([0.2] * 98, lost=2, timeout_s=60.0, offered=1.0, achieved=1.0)

    assert (one.p50, one.p99, one.max, one.samples, one.lost) == (0.2, 0.2, 60.0, 99, 1)
    assert (two.p50, two.p99, two.max, two.samples, two.lost) == (0.2, 60.0, 60.0, 98, 2)


def test_a_run_where_nothing_arrived_is_all_timeout_not_empty() -> None:
    stats = order_statistics([], lost=3, timeout_s=65.0, offered=5000.0, achieved=4000.0)

    assert (stats.p50, stats.p99, stats.max) == (65.0, 65.0, 65.0)
    assert (stats.samples, stats.lost) == (0, 3)


def test_a_run_without_events_has_no_statistics() -> None:
    stats = order_statistics([], offered=1000.0, achieved=math.nan)

    assert math.isnan(stats.p50) and math.isnan(stats.p99) and math.isnan(stats.max)


def test_each_reader_s_arrival_is_timed_from_its_send_and_each_miss_is_counted() -> None:
    sent = {"a": 10.0, "b": 11.0}
    first = {"a": 10.5, "b": 11.25, "warm-up": 9.0}
    second = {"a": 10.75}

    samples, missing = arrival_latencies(sent, [first, second])

    assert sorted(samples) == pytest.approx([0.25, 0.5, 0.75])
    assert missing == 1


def test_an_event_that_never_arrived_ranks_as_the_wait_from_the_first_send() -> None:
    sent = {"a": 10.0, "b": 11.0, "c": 12.0}
    arrived = {"a": 10.25, "b": 11.5, "warm-up": 9.0}

    stats = timed(sent, [arrived], gave_up_at=80.0, offered=1000.0, reached=3.0)

    # Samples 0.25 and 0.5; "c" waited from the first send (10.0) to giving up (80.0).
    assert (stats.p50, stats.p99, stats.max) == (0.5, 70.0, 70.0)
    assert (stats.samples, stats.lost) == (2, 1)
    assert (stats.offered_rate, stats.achieved_rate) == (1000.0, 3.0)


def test_a_paced_sender_reaches_its_rate_whatever_the_run_s_length() -> None:
    # 5,000 sends at i/1000 s: the last one at 4.999 s, 4,999 intervals after the first.
    assert sent_rate(5000, 0.0, 4.999) == pytest.approx(1000.0)
    assert sent_rate(3, 100.0, 101.0) == 2.0


def test_a_sender_that_fell_behind_reaches_what_it_sent_in_its_time() -> None:
    # Asked 5,000/s for 5 s, it sent 12,001 records in the 6 s it had (its deadline).
    assert sent_rate(12_001, 0.0, 6.0) == 2000.0


def test_fewer_than_two_sends_have_no_rate() -> None:
    assert math.isnan(sent_rate(1, 0.0, 0.0))
    assert math.isnan(sent_rate(0, 0.0, 1.0))


def test_a_consumer_s_rate_leaves_out_its_first_batch_which_only_marks_the_start() -> None:
    span = Span(count=1100, first_count=100, first_t=10.0, last_t=12.0)

    assert span.rate == 500.0
    assert span.seconds == 2.0


def test_a_run_seen_in_one_scrape_reports_a_floor_of_one_scrape_interval() -> None:
    span = Span(count=200, first_count=200, first_t=5.0, last_t=5.0)

    assert span.rate == 200 / SCRAPE_INTERVAL_S


def test_the_histogram_cross_check_is_the_first_bucket_holding_99_percent() -> None:
    before = {0.25: 10.0, 0.5: 10.0, 1.0: 10.0, math.inf: 10.0}
    after = {0.25: 50.0, 0.5: 108.0, 1.0: 110.0, math.inf: 110.0}

    # 100 new observations: 40 under 0.25 s, 98 under 0.5 s, all 100 under 1 s.
    assert bucket_bound(before, after, 0.99) == 1.0
    assert bucket_bound(before, after, 0.98) == 0.5
    assert math.isnan(bucket_bound(after, after, 0.99))  # nothing observed in between
