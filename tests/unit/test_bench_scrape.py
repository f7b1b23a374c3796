"""A figure read from a worker's /metrics tells "never counted" (0) from "no such metric"."""

from __future__ import annotations

from services.bench.scrape import parse

DECLARED_ONLY = """# HELP datong_merge_retries_total Merge batches retried, by reason.
# TYPE datong_merge_retries_total counter
# HELP datong_outbox_pending View changes committed but not yet published.
# TYPE datong_outbox_pending gauge
datong_outbox_pending 0.0
"""
COUNTED = """# HELP datong_merge_retries_total Merge batches retried, by reason.
# TYPE datong_merge_retries_total counter
datong_merge_retries_total{reason="serialization"} 3.0
datong_merge_retries_created{reason="serialization"} 1.7e9
datong_merge_retries_total{reason="deadlock"} 1.0
"""


def test_a_counter_declared_but_never_counted_is_zero() -> None:
    assert parse(DECLARED_ONLY).total("datong_merge_retries_total") == 0.0


def test_a_metric_the_process_does_not_have_is_none_not_zero() -> None:
    assert parse(DECLARED_ONLY).total("datong_consumer_lag") is None
    assert parse("").total("datong_merge_retries_total") is None


def test_a_counter_is_summed_over_its_labels_without_its_created_time() -> None:
    assert parse(COUNTED).total("datong_merge_retries_total") == 4.0
    assert parse(DECLARED_ONLY).total("datong_outbox_pending") == 0.0
