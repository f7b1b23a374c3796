"""Creates the catalog's topics: sources kept forever, compacted views, dead letters that expire."""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.catalog import Catalog, dlq_topic, parked_topic
from services.errors import BrokerError, MissingTopicsError
from services.setting_defaults import DEFAULT_DLQ_RETENTION_DAYS, TOPICS_MANAGE

DAY_MS = 24 * 60 * 60 * 1000
# Source topics are the log `datong views rebuild` reads from the beginning: if the broker
# dropped an event, the rebuilt views would differ from the live ones. Kafka's -1 is "never";
# a cluster with tiered storage can move old segments to object storage instead.
KEEP_FOREVER_MS = -1
# Compacted view topics keep tombstones a day, so a consumer that was down sees deletions.
VIEW_TOMBSTONE_RETENTION_MS = DAY_MS
# KIP-464 (Kafka 2.4+): -1 asks the broker for its default.replication.factor. The embedded
# broker (Tansu) accepts it too and keeps its one copy, so no case needs a factor of ours.
BROKER_DEFAULT_REPLICATION = -1


@dataclass(frozen=True)
class TopicSpec:
    """A topic and how it is kept.

    ``retention_ms`` applies to a topic that is not compacted: ``-1`` keeps every record,
    None leaves the broker's default (a bench's scratch topic).
    """

    name: str
    partitions: int
    compacted: bool
    retention_ms: int | None = None

    @property
    def config(self) -> dict[str, str]:
        """The topic-level configs the topic is created with."""
        if self.compacted:
            return {
                "cleanup.policy": "compact",
                "delete.retention.ms": str(VIEW_TOMBSTONE_RETENTION_MS),
            }
        config = {"cleanup.policy": "delete"}
        if self.retention_ms is not None:
            config["retention.ms"] = str(self.retention_ms)
        return config


def topic_specs(
    catalog: Catalog, partitions: int, dlq_retention_days: int = DEFAULT_DLQ_RETENTION_DAYS
) -> list[TopicSpec]:
    """Every topic the catalog implies, with how long each keeps its records.

    All source topics share a partition count so that one subject's events land on the same
    partition number everywhere. Source topics keep everything (a rebuild replays them),
    view topics are compacted, dead letters and parked notices expire after
    ``dlq_retention_days``.
    """
    specs = [
        TopicSpec(c.topic, partitions, True)
        if c.kind == "view"
        else TopicSpec(c.topic, partitions, False, KEEP_FOREVER_MS)
        for c in catalog
    ]
    dlq_retention_ms = dlq_retention_days * DAY_MS
    specs += [TopicSpec(dlq_topic(d), 1, False, dlq_retention_ms) for d in catalog.departments()]
    # Parked-address notices feed the quality scorecards; kept as long as the dead letters.
    specs += [TopicSpec(parked_topic(d), 1, False, dlq_retention_ms) for d in catalog.departments()]
    return sorted(specs, key=lambda s: s.name)


def prepare_topics(
    mode: str, bootstrap: str, specs: list[TopicSpec], **client_options: object
) -> list[str]:
    """Make sure ``specs`` exist before a process uses them, as ``DATONG_TOPICS`` says.

    ``manage`` creates the missing ones (``ensure_topics``); ``require`` creates nothing and
    raises ``MissingTopicsError`` naming every missing topic. Returns the names created.
    """
    if mode == TOPICS_MANAGE:
        return ensure_topics(bootstrap, specs, **client_options)
    missing = missing_topics(bootstrap, specs, **client_options)
    if missing:
        raise MissingTopicsError(
            f"{len(missing)} topic(s) missing on {bootstrap}: {', '.join(missing)}; "
            "DATONG_TOPICS=require never creates topics: create them with their replication "
            "and retention first (Kubernetes: `kubectl apply -f deploy/k8s/topics.yaml`, "
            "made by `datong deploy render-topics`; compose: deploy/kafka/create-topics.sh, "
            "made by `datong deploy render-topics --format script`), then start again"
        )
    return []


def ensure_topics(bootstrap: str, specs: list[TopicSpec], **client_options: object) -> list[str]:
    """Create the topics that do not exist yet, with their configs; return the names created.

    A topic is created with the broker's default replication factor, never one of ours: a
    factor chosen here (it was 1) would outlive the process on a real cluster, where
    ``acks=all`` writes then fail against ``min.insync.replicas`` and the factor cannot be
    raised without reassigning partitions. A topic that exists is left as it is: changing a
    live topic's retention is the operator's decision (``kafka-configs.sh --alter``), never
    a side effect of a start.
    """
    admin = _admin(bootstrap, client_options)
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created = []
        for spec in missing:
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            spec.name,
                            spec.partitions,
                            BROKER_DEFAULT_REPLICATION,
                            topic_configs=spec.config,
                        )
                    ]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass  # another process created it in the meantime
        return created
    except KafkaError as exc:
        raise BrokerError(f"creating topics on {bootstrap} failed: {exc}") from exc
    finally:
        admin.close()


def missing_topics(bootstrap: str, specs: list[TopicSpec], **client_options: object) -> list[str]:
    """The names of ``specs`` the broker does not have, sorted."""
    admin = _admin(bootstrap, client_options)
    try:
        existing = set(admin.list_topics())
    except KafkaError as exc:
        raise BrokerError(f"listing the topics on {bootstrap} failed: {exc}") from exc
    finally:
        admin.close()
    return sorted(s.name for s in specs if s.name not in existing)


def _admin(bootstrap: str, client_options: dict[str, object]) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(bootstrap_servers=bootstrap, **client_options)
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc


def topic_retention_ms(bootstrap: str, topic: str, **client_options: object) -> int | None:
    """The ``retention.ms`` the broker reports for ``topic``; None when it reports none.

    Every config is asked for, not only the "modified" ones: the embedded broker (Tansu)
    marks the configs a topic was created with as defaults.
    """
    admin = _admin(bootstrap, client_options)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all"
        )
    except KafkaError as exc:
        raise BrokerError(f"reading the configs of {topic} on {bootstrap} failed: {exc}") from exc
    finally:
        admin.close()
    return _retention_of(described, topic)


def _retention_of(described: object, topic: str) -> int | None:
    """``retention.ms`` out of kafka-python's DescribeConfigs answer, whatever its shape."""
    if isinstance(described, dict):
        configs = described.get("topic", {}).get(topic, {})
        value = configs.get("retention.ms") if isinstance(configs, dict) else None
        if isinstance(value, dict):  # {"value": ..., "read_only": ...} in some versions
            value = value.get("value")
        return int(value) if value is not None else None
    return None
