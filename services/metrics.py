"""Prometheus metrics of the services (listed in docs/metrics.md), one private registry each."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Event-to-view latency: the budget is one second, so the buckets are dense below it
# and sparse above, up to the minutes a stalled feed or a replay produces.
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)


class MergeMetrics:
    """What a merge worker reports."""

    def __init__(
        self,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._newest: dict[tuple[str, str], float] = {}
        self._applied: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
        self.events = Counter(
            "datong_merge_events",
            "Source events merged into views, by outcome (applied, unchanged, conflict, rejected).",
            ["view", "department", "outcome"],
            registry=registry,
        )
        self.event_to_view = Histogram(
            "datong_event_to_view_seconds",
            "From an event's event_time at the department to the view commit that applied it.",
            ["view", "department"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.ingest_to_view = Histogram(
            "datong_ingest_to_view_seconds",
            "From the source record's Kafka timestamp (when the connector published it) to the "
            "view commit that applied it: the hub's own delay, which a bulk load of old events "
            "does not inflate.",
            ["view", "department"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.feed_last_event = Gauge(
            "datong_feed_last_event_time_seconds",
            "Unix time of a department's newest event in the view store (over every "
            "community's situation), read from the store from the worker's start.",
            ["department"],
            registry=registry,
        )
        self.feed_cadence = Gauge(
            "datong_feed_cadence_seconds",
            "The longest silence of a department that is still normal during working hours "
            "(DATONG_FEED_CADENCE): what the stale-feed alert compares with.",
            ["department"],
            registry=registry,
        )
        self.freshness = Gauge(
            "datong_view_freshness_seconds",
            "Age of the newest event of a department applied to a view.",
            ["view", "department"],
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "datong_consumer_lag",
            "Records on a partition not yet processed by the group.",
            ["group", "topic", "partition"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "datong_dlq_records",
            "Records sent to a department's dead-letter topic, by reason.",
            ["department", "reason"],
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "datong_outbox_pending",
            "View changes committed but not yet acknowledged by the broker (every worker's).",
            registry=registry,
        )
        self.retries = Counter(
            "datong_merge_retries",
            "Merge or fold transactions rolled back and run again, by reason (deadlock, new_row: "
            "another worker created the same row, lock_timeout, busy, database, registry: a "
            "writer's schema could not be read, error).",
            ["reason"],
            registry=registry,
        )
        self.pruned = Counter(
            "datong_pruned_rows",
            "Expired history deleted from the view store, by kind (closed_alert, "
            "situation_snapshot): what the retention settings bound.",
            ["table"],
            registry=registry,
        )

    def applied(
        self,
        view: str,
        department: str,
        event_time_s: float,
        commit_time_s: float,
        ingest_time_s: float | None = None,
    ) -> None:
        """Count an applied event and observe its event-to-view latency, and its
        ingest-to-view latency when the record's Kafka timestamp is known."""
        key = (view, department)
        children = self._applied.get(key)
        if children is None:  # labels() takes a lock and builds a key: once per pair
            children = (
                self.events.labels(view, department, "applied"),
                self.event_to_view.labels(view, department),
                self.ingest_to_view.labels(view, department),
            )
            self._applied[key] = children
        children[0].inc()
        children[1].observe(max(0.0, commit_time_s - event_time_s))
        if ingest_time_s is not None:
            children[2].observe(max(0.0, commit_time_s - ingest_time_s))
        if event_time_s > self._newest.get(key, float("-inf")):
            if key not in self._newest:
                self.freshness.labels(view, department).set_function(
                    lambda: self._clock() - self._newest[key]
                )
            self._newest[key] = event_time_s


class ApiMetrics:
    """What the HTTP API reports."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "datong_http_requests",
            "HTTP requests served, by route template and status class.",
            ["route", "status"],
            registry=registry,
        )
        self.ingest = Counter(
            "datong_ingest_requests",
            "HTTP ingest requests by department and status code.",
            ["department", "status"],
            registry=registry,
        )
        self.emergencies_active = Gauge(
            "datong_emergencies_active",
            "Emergencies (break-glass access) open now: declared, neither ended nor expired.",
            registry=registry,
        )
        self.overdue = Gauge(
            "datong_sharing_requests_overdue",
            "Sharing requests whose answer is past its working-day deadline, by stage (review: "
            "the hub operator's; provider: an owning department's) and the department that owes "
            "it (datong: the operator). Read from the store at each scrape.",
            ["stage", "department"],
            registry=registry,
        )
        self.alerts_overdue = Gauge(
            "datong_alerts_overdue",
            "Open alerts past their response limit (DATONG_ALERT_RESPONSE_HOURS, or the due "
            "time of the task that took them), by alert type; counted from the view store "
            "when /metrics is read.",
            ["type"],
            registry=registry,
        )


class SubscriptionMetrics:
    """What the API's live subscriptions (``GET /subscribe/{view}``) report."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.subscribers = Gauge(
            "datong_subscribers",
            "Open Server-Sent Events subscriptions, by view.",
            ["view"],
            registry=registry,
        )
        self.consumers = Gauge(
            "datong_subscription_consumers",
            "Kafka consumers the subscription hub holds: the one shared by every subscriber, "
            "plus one per client still reading back what it missed from a view topic.",
            registry=registry,
        )
        self.changes = Counter(
            "datong_subscription_changes",
            "View changes read from the view topics, by view and outcome (read, undecodable).",
            ["view", "outcome"],
            registry=registry,
        )
        self.cut_off = Counter(
            "datong_subscribers_cut_off",
            "Subscriptions ended because the client read slower than its view changed "
            "(it resumes from its last event id).",
            ["view"],
            registry=registry,
        )


# A feed's timeliness, event_time to arrival: from seconds (HTTP push) through the hours of a
# daily export to the week of a department that releases late.
TIMELINESS_BUCKETS = (
    1.0,
    10.0,
    60.0,
    300.0,
    900.0,
    3600.0,
    4 * 3600.0,
    12 * 3600.0,
    86400.0,
    3 * 86400.0,
    7 * 86400.0,
    30 * 86400.0,
)


class QualityMetrics:
    """What the feed quality consumer reports, once per batch it has committed."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.timeliness = Histogram(
            "datong_feed_timeliness_seconds",
            "From an event's event_time at the department to its arrival on the broker (the "
            "record's Kafka timestamp), per department: how late a department releases.",
            ["department"],
            buckets=TIMELINESS_BUCKETS,
            registry=registry,
        )
        self.rows = Counter(
            "datong_feed_rows",
            "Rows of a department's feed as counted from the topics, by outcome (published, "
            "rejected, parked, resolved): rejected over published + rejected + parked - "
            "resolved is its rejection rate.",
            ["department", "outcome"],
            registry=registry,
        )
