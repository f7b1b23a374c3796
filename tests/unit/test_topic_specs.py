"""The topics the hub creates keep what a rebuild needs, and let dead letters expire."""

from __future__ import annotations

from schemas.catalog import Catalog, dlq_topic
from services.topics import TopicSpec, topic_specs

DAY_MS = 24 * 3600 * 1000


def _by_name(dlq_days: int = 30) -> dict[str, TopicSpec]:
    return {spec.name: spec for spec in topic_specs(Catalog.load(), 4, dlq_days)}


def test_source_topics_keep_every_event_for_a_rebuild() -> None:
    specs = _by_name()
    for contract in Catalog.load():
        if contract.kind == "source":
            assert specs[contract.topic].config == {
                "cleanup.policy": "delete",
                "retention.ms": "-1",
            }, contract.topic


def test_view_topics_are_compacted_and_keep_tombstones_a_day() -> None:
    specs = _by_name()
    for contract in Catalog.load():
        if contract.kind == "view":
            assert specs[contract.topic].config == {
                "cleanup.policy": "compact",
                "delete.retention.ms": str(DAY_MS),
            }, contract.topic


def test_dead_letters_expire_after_thirty_days_by_default() -> None:
    specs = {s.name: s for s in topic_specs(Catalog.load(), 4)}
    for department in Catalog.load().departments():
        assert specs[dlq_topic(department)].config == {
            "cleanup.policy": "delete",
            "retention.ms": str(30 * DAY_MS),
        }


def test_dead_letter_retention_follows_the_setting() -> None:
    specs = _by_name(dlq_days=7)
    for department in Catalog.load().departments():
        assert specs[dlq_topic(department)].config["retention.ms"] == str(7 * DAY_MS)


def test_a_scratch_topic_without_retention_leaves_the_brokers_default() -> None:
    assert TopicSpec("bench.raw", 2, False).config == {"cleanup.policy": "delete"}
