"""Creates the catalog's topics: sources, compacted views, and dead letters."""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.catalog import Catalog, dlq_topic
from services.errors import BrokerError


@dataclass(frozen=True)
class TopicSpec:
    """A topic and how it is kept."""

    name: str
    partitions: int
    compacted: bool


def topic_specs(catalog: Catalog, partitions: int) -> list[TopicSpec]:
    """Every topic the catalog implies; all source topics share a partition count
    so that one subject's events land on the same partition number everywhere."""
    specs = [TopicSpec(c.topic, partitions, c.kind == "view") for c in catalog]
    specs += [TopicSpec(dlq_topic(d), 1, False) for d in catalog.departments()]
    return sorted(specs, key=lambda s: s.name)


def ensure_topics(
    bootstrap: str, specs: list[TopicSpec], replication: int = 1, **client_options: object
) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, **client_options)
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created = []
        for spec in missing:
            config = {"cleanup.policy": "compact" if spec.compacted else "delete"}
            try:
                admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, replication, topic_configs=config)]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass  # another process created it in the meantime
        return created
    except KafkaError as exc:
        raise BrokerError(f"creating topics on {bootstrap} failed: {exc}") from exc
    finally:
        admin.close()
