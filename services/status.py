"""``datong status``: feeds, lag, freshness and dead letters, read from ``/metrics`` endpoints.

Only :func:`scrape` does I/O. :func:`summarize` (and ``services/status_table.py``'s ``render``)
are pure functions over the exposition text, so they are tested with hand-written and generated
samples.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

# The sample names (docs/metrics.md) that the summary reads.
MERGE_EVENTS = "datong_merge_events_total"
LATENCY_BUCKET = "datong_event_to_view_seconds_bucket"
FRESHNESS = "datong_view_freshness_seconds"
CONSUMER_LAG = "datong_consumer_lag"
DEAD_LETTERS = "datong_dlq_records_total"

# Outcomes of datong_merge_events_total, in the order the table shows them; an outcome
# not listed here still gets a column, after these.
OUTCOMES = ("applied", "unchanged", "conflict", "rejected")

FeedKey = tuple[str, str]  # (view, department)


@dataclass(frozen=True)
class Feed:
    """What the merge workers report for one (view, department)."""

    view: str
    department: str
    events: Mapping[str, float]
    """Source events merged, by outcome."""
    p50_s: float | None
    p99_s: float | None
    """Event-to-view latency estimated from the histogram buckets (None without samples)."""
    latency_ceiling_s: float | None
    """The highest finite bucket bound: an estimate equal to it means "at least this"."""
    freshness_s: float | None
    """Age of the newest applied event (the freshest worker's figure)."""


@dataclass(frozen=True)
class Lag:
    """Records not yet processed by a consumer group, summed over a topic's partitions."""

    group: str
    topic: str
    records: float


@dataclass(frozen=True)
class Status:
    """The hub at a glance, summarized from every endpoint that answered."""

    feeds: tuple[Feed, ...]
    lag: tuple[Lag, ...]
    dead_letters: Mapping[str, float]
    """Records on each department's dead-letter topic (all reasons); the CLI counts them on
    the topics, the connectors' metrics are what a summary of endpoints alone knows."""
    endpoints: Mapping[str, str | None]
    """Every endpoint asked: None when it answered, else what went wrong."""

    @property
    def unreachable(self) -> list[str]:
        """The endpoints that could not be read."""
        return [url for url, error in self.endpoints.items() if error is not None]


def scrape(
    urls: Iterable[str],
    timeout_s: float = 2.0,
    client: httpx.Client | None = None,
    token: str | None = None,
) -> dict[str, str | Exception]:
    """GET each ``/metrics`` URL; the body on success, the error otherwise (never raises).

    Args:
        urls: the metrics endpoints to read.
        timeout_s: per-request timeout, so one hung process cannot stall the summary.
        client: the HTTP client to use (a new one, closed afterwards, when None).
        token: the metrics bearer token (DATONG_METRICS_TOKEN), sent when given.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    own = client is None
    http = client or httpx.Client(timeout=timeout_s)
    results: dict[str, str | Exception] = {}
    try:
        for url in urls:
            try:
                response = http.get(url, timeout=timeout_s, headers=headers)
                response.raise_for_status()
                results[url] = response.text
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                results[url] = exc
    finally:
        if own:
            http.close()
    return results


def summarize(texts: Mapping[str, str | Exception]) -> Status:
    """Combine what :func:`scrape` read into per-feed, per-topic and per-department figures.

    Several workers may report the same series: counters and histogram buckets are
    summed, freshness is the smallest age, and a partition's lag the largest figure (a
    worker that lost the partition in a rebalance may still show its last value).
    An endpoint whose text does not parse counts as unreachable and adds nothing.
    """
    totals = _Totals()
    endpoints: dict[str, str | None] = {}
    for url, text in texts.items():
        if isinstance(text, Exception):
            endpoints[url] = _describe(text)
            continue
        try:
            samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
        except ValueError as exc:
            endpoints[url] = f"not Prometheus text: {exc}"
            continue
        endpoints[url] = None
        for sample in samples:
            totals.add(sample)
    return totals.status(endpoints)


def estimate_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """Estimate the ``q`` quantile from cumulative buckets ``{le: count}``, as PromQL does.

    Linear interpolation inside the bucket the rank falls in, from 0 for the first one;
    a rank in the +Inf bucket gives the highest finite bound. None without observations.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"a quantile is between 0 and 1 (exclusive), got {q}")
    ordered = sorted(buckets.items())
    if len(ordered) < 2 or ordered[-1][0] != math.inf or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if upper == math.inf:
                return lower
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return None  # pragma: no cover - the +Inf bucket holds every observation


@dataclass
class _Totals:
    """Running sums while reading samples from several endpoints."""

    events: dict[FeedKey, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    buckets: dict[FeedKey, dict[float, float]] = field(default_factory=lambda: defaultdict(dict))
    freshness: dict[FeedKey, float] = field(default_factory=dict)
    lag: dict[tuple[str, str, str], float] = field(default_factory=dict)
    dead: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, sample: Sample) -> None:
        labels = sample.labels
        key = (labels.get("view", ""), labels.get("department", ""))
        if sample.name == MERGE_EVENTS:
            by_outcome = self.events[key]
            outcome = labels.get("outcome", "")
            by_outcome[outcome] = by_outcome.get(outcome, 0.0) + sample.value
        elif sample.name == LATENCY_BUCKET:
            le = float(labels["le"])
            self.buckets[key][le] = self.buckets[key].get(le, 0.0) + sample.value
        elif sample.name == FRESHNESS and not math.isnan(sample.value):
            self.freshness[key] = min(self.freshness.get(key, math.inf), sample.value)
        elif sample.name == CONSUMER_LAG:
            part = (labels.get("group", ""), labels.get("topic", ""), labels.get("partition", ""))
            self.lag[part] = max(self.lag.get(part, -math.inf), sample.value)
        elif sample.name == DEAD_LETTERS:
            self.dead[labels.get("department", "")] += sample.value

    def status(self, endpoints: Mapping[str, str | None]) -> Status:
        feeds = [self._feed(key) for key in sorted({*self.events, *self.buckets, *self.freshness})]
        by_topic: dict[tuple[str, str], float] = defaultdict(float)
        for (group, topic, _), records in self.lag.items():
            by_topic[(group, topic)] += records
        return Status(
            feeds=tuple(feeds),
            lag=tuple(Lag(g, t, n) for (g, t), n in sorted(by_topic.items())),
            dead_letters=dict(sorted(self.dead.items())),
            endpoints=dict(endpoints),
        )

    def _feed(self, key: FeedKey) -> Feed:
        buckets = self.buckets.get(key, {})
        finite = [le for le in buckets if le != math.inf]
        return Feed(
            view=key[0],
            department=key[1],
            events=dict(self.events.get(key, {})),
            p50_s=estimate_quantile(0.5, buckets),
            p99_s=estimate_quantile(0.99, buckets),
            latency_ceiling_s=max(finite) if finite else None,
            freshness_s=self.freshness.get(key),
        )


def _describe(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"unreachable: {type(error).__name__}" + (f": {text}" if text else "")
