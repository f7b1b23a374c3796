"""The merge's two latencies: event-to-view from the department's event_time, and
ingest-to-view from the record's Kafka timestamp, which a bulk load of old events leaves
alone."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.merge.merge import Provenance, Update
from services.merge.rows import Applied
from services.merge.tally import Tally
from services.metrics import MergeMetrics

YEAR_AGO_MS = 1_700_000_000_000
PUBLISHED_MS = YEAR_AGO_MS + 365 * 86400 * 1000
COMMIT_S = PUBLISHED_MS / 1000 + 0.25


def _sum_and_count(registry: CollectorRegistry, name: str, view: str) -> tuple[float, float]:
    labels = {"view": view, "department": "housing"}
    total = registry.get_sample_value(f"{name}_sum", labels)
    count = registry.get_sample_value(f"{name}_count", labels)
    assert total is not None and count is not None
    return total, count


def _update(view: str, event_id: str) -> Update:
    return Update(view, "D001", Provenance("housing", event_id, YEAR_AGO_MS), {"area": 1})


def test_an_old_event_published_now_is_late_by_event_time_but_quick_by_ingest_time() -> None:
    registry = CollectorRegistry()
    metrics = MergeMetrics(registry)
    updates = [_update("household", "e1"), _update("resident_profile", "e2")]
    origin = {id(updates[0]): 0, id(updates[1]): 1}

    Tally(metrics, origin, [PUBLISHED_MS, PUBLISHED_MS]).count(Applied(applied=updates), COMMIT_S)

    late, _ = _sum_and_count(registry, "datong_event_to_view_seconds", "household")
    assert late > 365 * 86400
    assert _sum_and_count(registry, "datong_ingest_to_view_seconds", "household") == (0.25, 1)
    assert _sum_and_count(registry, "datong_ingest_to_view_seconds", "resident_profile") == (
        0.25,
        1,
    )


def test_a_record_without_a_kafka_timestamp_counts_only_its_event_time() -> None:
    registry = CollectorRegistry()
    metrics = MergeMetrics(registry)
    update = _update("household", "e1")

    Tally(metrics, {id(update): 0}, [-1]).count(Applied(applied=[update]), COMMIT_S)
    Tally(metrics, {id(update): 0}).count(Applied(applied=[update]), COMMIT_S)

    assert _sum_and_count(registry, "datong_event_to_view_seconds", "household")[1] == 2
    assert _sum_and_count(registry, "datong_ingest_to_view_seconds", "household") == (0, 0)
