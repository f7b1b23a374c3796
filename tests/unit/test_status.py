"""``datong status``: reading the hub's exposition text into feeds, lag and dead letters."""

from __future__ import annotations

import math

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from connectors.metrics import ConnectorMetrics
from services.metrics import MergeMetrics
from services.status import Feed, Status, estimate_quantile, scrape, summarize
from services.status_table import render

CONNECTOR = "http://127.0.0.1:9102/metrics"
WORKER_A = "http://127.0.0.1:9101/metrics"
WORKER_B = "http://127.0.0.1:9102/metrics"
API = "http://127.0.0.1:8080/metrics"

# What a worker serves, written by hand the way prometheus_client prints it.
WORKER_TEXT = """\
# HELP datong_merge_events_total Source events merged into views, by outcome.
# TYPE datong_merge_events_total counter
datong_merge_events_total{department="public-security",outcome="applied",view="household"} 20.0
datong_merge_events_total{department="public-security",outcome="unchanged",view="household"} 3.0
datong_merge_events_total{department="health",outcome="applied",view="resident_profile"} 5.0
datong_merge_events_total{department="health",outcome="conflict",view="resident_profile"} 1.0
datong_merge_events_total{department="health",outcome="rejected",view="-"} 2.0
# HELP datong_merge_events_created Source events merged into views, by outcome.
# TYPE datong_merge_events_created gauge
datong_merge_events_created{department="health",outcome="applied",view="resident_profile"} 1.7e+09
# HELP datong_event_to_view_seconds From event_time to view commit.
# TYPE datong_event_to_view_seconds histogram
datong_event_to_view_seconds_bucket{department="health",le="0.1",view="resident_profile"} 10.0
datong_event_to_view_seconds_bucket{department="health",le="0.5",view="resident_profile"} 90.0
datong_event_to_view_seconds_bucket{department="health",le="1.0",view="resident_profile"} 100.0
datong_event_to_view_seconds_bucket{department="health",le="+Inf",view="resident_profile"} 100.0
datong_event_to_view_seconds_count{department="health",view="resident_profile"} 100.0
datong_event_to_view_seconds_sum{department="health",view="resident_profile"} 30.0
# HELP datong_view_freshness_seconds Age of the newest event applied to a view.
# TYPE datong_view_freshness_seconds gauge
datong_view_freshness_seconds{department="health",view="resident_profile"} 42.0
datong_view_freshness_seconds{department="public-security",view="household"} 7200.0
# HELP datong_consumer_lag Records on a partition not yet processed by the group.
# TYPE datong_consumer_lag gauge
datong_consumer_lag{group="merge",partition="0",topic="src.health.health-status-changed"} 4.0
datong_consumer_lag{group="merge",partition="1",topic="src.health.health-status-changed"} 6.0
datong_consumer_lag{group="merge",partition="0",topic="src.public-security.resident-registered"} 0.0
"""

# A second worker of the same group, owning other partitions of the same topics.
WORKER_B_TEXT = """\
# TYPE datong_merge_events_total counter
datong_merge_events_total{department="health",outcome="applied",view="resident_profile"} 7.0
# TYPE datong_event_to_view_seconds histogram
datong_event_to_view_seconds_bucket{department="health",le="0.1",view="resident_profile"} 0.0
datong_event_to_view_seconds_bucket{department="health",le="0.5",view="resident_profile"} 0.0
datong_event_to_view_seconds_bucket{department="health",le="1.0",view="resident_profile"} 100.0
datong_event_to_view_seconds_bucket{department="health",le="+Inf",view="resident_profile"} 100.0
# TYPE datong_view_freshness_seconds gauge
datong_view_freshness_seconds{department="health",view="resident_profile"} 3.0
# TYPE datong_consumer_lag gauge
datong_consumer_lag{group="merge",partition="1",topic="src.health.health-status-changed"} 2.0
datong_consumer_lag{group="merge",partition="2",topic="src.health.health-status-changed"} 5.0
"""

CONNECTOR_TEXT = """\
# TYPE datong_dlq_records_total counter
datong_dlq_records_total{department="public-security",reason="check_digit"} 3.0
datong_dlq_records_total{department="public-security",reason="bad_date"} 1.0
datong_dlq_records_total{department="health",reason="undecodable"} 2.0
"""


def feed(status: Status, view: str, department: str) -> Feed:
    return next(f for f in status.feeds if (f.view, f.department) == (view, department))


# --- summarize -----------------------------------------------------------------------------


def test_merge_events_are_counted_per_view_and_department_by_outcome() -> None:
    status = summarize({WORKER_A: WORKER_TEXT})
    assert feed(status, "household", "public-security").events == {
        "applied": 20.0,
        "unchanged": 3.0,
    }
    assert feed(status, "resident_profile", "health").events == {"applied": 5.0, "conflict": 1.0}
    assert feed(status, "-", "health").events == {"rejected": 2.0}


def test_created_timestamps_are_not_mistaken_for_event_counts() -> None:
    status = summarize({WORKER_A: WORKER_TEXT})
    assert all(count < 1e6 for f in status.feeds for count in f.events.values())


def test_latency_quantiles_interpolate_inside_the_bucket_the_rank_falls_in() -> None:
    health = feed(summarize({WORKER_A: WORKER_TEXT}), "resident_profile", "health")
    # p50: rank 50 lies in (0.1, 0.5] holding ranks 10..90 -> 0.1 + 0.4 * 40/80
    assert health.p50_s == pytest.approx(0.3)
    # p99: rank 99 lies in (0.5, 1.0] holding ranks 90..100 -> 0.5 + 0.5 * 9/10
    assert health.p99_s == pytest.approx(0.95)
    assert health.latency_ceiling_s == 1.0


def test_counts_and_buckets_from_several_workers_are_added_before_estimating() -> None:
    health = feed(
        summarize({WORKER_A: WORKER_TEXT, WORKER_B: WORKER_B_TEXT}), "resident_profile", "health"
    )
    assert health.events["applied"] == 12.0
    # together: 10 <= 0.1, 90 <= 0.5, 200 <= 1.0; rank 100 lies in (0.5, 1.0] (90..200)
    assert health.p50_s == pytest.approx(0.5 + 0.5 * 10 / 110)


def test_freshness_is_the_age_reported_by_the_freshest_worker() -> None:
    status = summarize({WORKER_A: WORKER_TEXT, WORKER_B: WORKER_B_TEXT})
    assert feed(status, "resident_profile", "health").freshness_s == 3.0
    assert feed(status, "household", "public-security").freshness_s == 7200.0


def test_lag_is_summed_over_partitions_and_a_partition_seen_twice_counts_once() -> None:
    status = summarize({WORKER_A: WORKER_TEXT, WORKER_B: WORKER_B_TEXT})
    lag = {(entry.group, entry.topic): entry.records for entry in status.lag}
    # partition 1 is reported by both workers (one of them stale after a rebalance): max 6
    assert lag == {
        ("merge", "src.health.health-status-changed"): 4.0 + 6.0 + 5.0,
        ("merge", "src.public-security.resident-registered"): 0.0,
    }


def test_dead_letters_are_summed_over_reasons_per_department() -> None:
    status = summarize({"connector": CONNECTOR_TEXT})
    assert status.dead_letters == {"health": 2.0, "public-security": 4.0}


def test_unreachable_and_unparsable_endpoints_are_reported_and_the_rest_still_counts() -> None:
    status = summarize(
        {
            WORKER_A: WORKER_TEXT,
            WORKER_B: httpx.ConnectError("connection refused"),
            API: "<html><body>login</body></html>",
        }
    )
    assert status.endpoints[WORKER_A] is None
    assert status.endpoints[WORKER_B] == "unreachable: ConnectError: connection refused"
    assert (status.endpoints[API] or "").startswith("not Prometheus text")
    assert status.unreachable == [WORKER_B, API]
    assert feed(status, "household", "public-security").events["applied"] == 20.0


def test_summary_of_what_merge_and_connector_metrics_really_print() -> None:
    now = 1_700_000_000.0
    registry = CollectorRegistry()
    merge = MergeMetrics(registry, clock=lambda: now)
    for latency in (0.02, 0.03, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 4.0):
        merge.applied("household", "public-security", now - 60 - latency, now - 60)
    merge.events.labels("household", "public-security", "unchanged").inc(2)
    merge.consumer_lag.labels("merge-1", "src.public-security.resident-registered", "3").set(9)
    connector_registry = CollectorRegistry()  # a connector is its own process
    connector = ConnectorMetrics(connector_registry)
    connector.dead_letters.labels("public-security", "check_digit").inc(3)

    status = summarize(
        {
            WORKER_A: generate_latest(registry).decode(),
            CONNECTOR: generate_latest(connector_registry).decode(),
        }
    )

    household = feed(status, "household", "public-security")
    assert household.events == {"applied": 10.0, "unchanged": 2.0}
    # 5 of 10 observations are <= 0.5 s and the 5th is in (0.25, 0.5]: p50 = 0.5
    assert household.p50_s == pytest.approx(0.5)
    # rank 9.9 lies in (2.5, 5.0], which holds the 10th observation only
    assert 2.5 < (household.p99_s or 0) <= 5.0
    # the newest event happened 60.02 s before `now`
    assert household.freshness_s == pytest.approx(60.02)
    assert [(lag.group, lag.records) for lag in status.lag] == [("merge-1", 9.0)]
    assert status.dead_letters == {"public-security": 3.0}


def test_a_feed_without_observations_has_no_latency_estimate() -> None:
    registry = CollectorRegistry()
    MergeMetrics(registry).events.labels("household", "health", "unchanged").inc()
    household = summarize({WORKER_A: generate_latest(registry).decode()}).feeds[0]
    assert (household.p50_s, household.p99_s, household.freshness_s) == (None, None, None)


# --- estimate_quantile ---------------------------------------------------------------------


def test_a_rank_in_the_infinite_bucket_reports_the_highest_finite_bound() -> None:
    assert estimate_quantile(0.99, {0.5: 10.0, 1.0: 50.0, math.inf: 100.0}) == 1.0


def test_a_rank_in_the_first_bucket_interpolates_from_zero() -> None:
    assert estimate_quantile(0.5, {0.2: 10.0, 1.0: 10.0, math.inf: 10.0}) == pytest.approx(0.1)


@pytest.mark.parametrize(
    "buckets",
    [{}, {0.1: 0.0, math.inf: 0.0}, {math.inf: 4.0}, {0.1: 3.0, 0.5: 4.0}],
    ids=["none", "no-observations", "only-inf", "no-inf-bucket"],
)
def test_buckets_that_cannot_give_an_estimate_give_none(buckets: dict[float, float]) -> None:
    assert estimate_quantile(0.5, buckets) is None


@pytest.mark.parametrize("q", [0.0, 1.0, -0.5, 99.0])
def test_a_quantile_outside_zero_to_one_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        estimate_quantile(q, {1.0: 1.0, math.inf: 1.0})


# --- scrape --------------------------------------------------------------------------------


def test_scrape_keeps_each_body_and_each_error_by_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.port == 9101:
            return httpx.Response(200, text=WORKER_TEXT)
        if request.url.port == 9102:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(503, text="starting")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        results = scrape([WORKER_A, WORKER_B, API], client=client)

    assert results[WORKER_A] == WORKER_TEXT
    assert isinstance(results[WORKER_B], httpx.ConnectError)
    failed = results[API]
    assert isinstance(failed, httpx.HTTPStatusError) and failed.response.status_code == 503


def test_scrape_of_a_port_nothing_listens_on_returns_the_error() -> None:
    results = scrape(["http://127.0.0.1:1/metrics"], timeout_s=1.0)
    assert isinstance(results["http://127.0.0.1:1/metrics"], httpx.TransportError)


# --- render --------------------------------------------------------------------------------


def rows_of(text: str, section: str) -> list[list[str]]:
    """The table rows (split on runs of spaces) under ``section``, without the header."""
    lines = text.split(section + "\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [line.split() for line in lines[1:]]


def test_render_shows_each_feed_with_outcomes_latency_and_freshness() -> None:
    text = render(summarize({WORKER_A: WORKER_TEXT, WORKER_B: WORKER_B_TEXT}))
    header = text.split("FEEDS (merged into views)\n", 1)[1].splitlines()[0].split()
    assert header == [
        "VIEW",
        "DEPARTMENT",
        "APPLIED",
        "UNCHANGED",
        "CONFLICT",
        "REJECTED",
        "P50",
        "P99",
        "FRESHNESS",
    ]
    assert rows_of(text, "FEEDS (merged into views)") == [
        ["-", "health", "0", "0", "0", "2", "-", "-", "-"],
        ["household", "public-security", "20", "3", "0", "0", "-", "-", "2h"],
        ["resident_profile", "health", "12", "0", "1", "0", "545ms", "991ms", "3.0s"],
    ]


def test_render_shows_lag_per_group_and_topic_and_dead_letters_per_department() -> None:
    text = render(summarize({WORKER_A: WORKER_TEXT, "connector": CONNECTOR_TEXT}))
    assert rows_of(text, "CONSUMER LAG") == [
        ["merge", "src.health.health-status-changed", "10"],
        ["merge", "src.public-security.resident-registered", "0"],
    ]
    assert rows_of(text, "DEAD LETTERS") == [["health", "2"], ["public-security", "4"]]


def test_render_marks_a_latency_beyond_the_buckets_as_a_lower_bound() -> None:
    text = """\
# TYPE datong_event_to_view_seconds histogram
datong_event_to_view_seconds_bucket{department="health",le="60.0",view="household"} 0.0
datong_event_to_view_seconds_bucket{department="health",le="300.0",view="household"} 0.0
datong_event_to_view_seconds_bucket{department="health",le="+Inf",view="household"} 8.0
"""
    rows = rows_of(render(summarize({WORKER_A: text})), "FEEDS (merged into views)")
    assert rows[0][-3:] == [">=5m", ">=5m", "-"]


def test_render_lists_unreachable_endpoints_and_says_when_nothing_was_reported() -> None:
    text = render(summarize({WORKER_A: httpx.ConnectError("connection refused")}))
    assert text.startswith("datong status: 1 endpoints, 1 unreachable\n")
    assert rows_of(text, "ENDPOINTS") == [
        [WORKER_A, "unreachable:", "ConnectError:", "connection", "refused"]
    ]
    for section in ("FEEDS (merged into views)", "CONSUMER LAG", "DEAD LETTERS"):
        assert f"{section}\n  (nothing reported)\n" in text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0042, "4ms"),
        (12.34, "12.3s"),
        (125.0, "2m 5s"),
        (300.0, "5m"),
        (3 * 3600 + 125.0, "3h 2m"),
        (2 * 86400 + 3 * 3600, "2d 3h"),
        (-90.0, "-1m 30s"),
    ],
)
def test_freshness_is_shown_in_human_sized_units(seconds: float, shown: str) -> None:
    text = f"""\
# TYPE datong_view_freshness_seconds gauge
datong_view_freshness_seconds{{department="health",view="household"}} {seconds}
"""
    line = render(summarize({WORKER_A: text})).split("FEEDS (merged into views)\n", 1)[1]
    assert line.splitlines()[1].endswith("  " + shown)
