"""The embedded broker keeps each topic with the retention the hub asks for."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from schemas.catalog import Catalog, dlq_topic
from services.topics import ensure_topics, topic_retention_ms, topic_specs

pytestmark = pytest.mark.integration
DAY_MS = 24 * 3600 * 1000


def test_the_broker_reports_every_topic_with_the_configs_it_was_created_with(
    start_broker: Callable[[], str],
) -> None:
    bootstrap = start_broker()
    specs = topic_specs(Catalog.load(), 2, dlq_retention_days=30)

    created = ensure_topics(bootstrap, specs)

    assert sorted(created) == sorted(s.name for s in specs)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        # "all": Tansu reports the configs a topic was created with as defaults, which
        # kafka-python's usual "modified" filter would drop.
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs], config_filter="all"
        )["topic"]
    finally:
        admin.close()
    for spec in specs:
        reported = {name: described[spec.name][name]["value"] for name in spec.config}
        assert reported == spec.config, spec.name


def test_source_topics_keep_everything_and_dead_letters_expire_on_the_broker(
    start_broker: Callable[[], str],
) -> None:
    bootstrap = start_broker()
    catalog = Catalog.load()
    ensure_topics(bootstrap, topic_specs(catalog, 2, dlq_retention_days=7))
    source = next(c.topic for c in catalog if c.kind == "source")

    assert topic_retention_ms(bootstrap, source) == -1
    assert topic_retention_ms(bootstrap, dlq_topic("health")) == 7 * DAY_MS
    assert ensure_topics(bootstrap, topic_specs(catalog, 2)) == []  # existing ones are left
