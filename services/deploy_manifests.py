"""Deployment manifests that follow the schema catalog: every Kafka topic with its settings;
the alert rules of ``services/alert_rules.py`` for both stacks; and the ``datong deploy``
command that prints them and the connectors' objects (``services/connector_manifests.py``).

Topic names live in the catalog (ARCHITECTURE.md, schemas/), so the production topic list
is rendered from it rather than written by hand: Strimzi ``KafkaTopic`` resources for Kubernetes
(``deploy/k8s/topics.yaml``) and a ``kafka-topics.sh`` script for the compose stack
(``deploy/kafka/create-topics.sh``). Tests compare the committed files with a fresh
rendering, so a new schema without its topic fails the build.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from schemas.catalog import Catalog, dlq_topic, parked_topic
from services.alert_rules import alert_rules, render_prometheus_rule, render_rule_file
from services.connector_manifests import DEFAULT_IMAGE, render_connectors
from services.setting_defaults import DEFAULT_DLQ_RETENTION_DAYS
from services.settings import Settings
from services.topics import topic_specs

STRIMZI_API_VERSION = "kafka.strimzi.io/v1"
KAFKA_CLUSTER = "datong"
# Source topics are co-partitioned (docs/views.md: one key lands on one partition of every
# source topic), so they all share one count; it caps the number of busy merge workers.
DEFAULT_PARTITIONS = 12
DEFAULT_REPLICAS = 3
MIN_INSYNC_REPLICAS = 2

GENERATED_NOTE = (
    "Generated from the schema catalog by `datong deploy render-topics{flags}`; do not edit."
)
# Retention is part of the rendering, so the operator reads it where the topics are made.
RETENTION_NOTE = (
    "Source topics keep every event (retention.ms=-1): `datong views rebuild` replays them "
    "from the start.",
    "Where the cluster has tiered storage (KIP-405), add remote.storage.enable=true to them "
    "to move old segments to object storage.",
    f"Dead letters expire after {DEFAULT_DLQ_RETENTION_DAYS} days: keep this equal to the "
    "hub's DATONG_DLQ_RETENTION_DAYS, which `datong dlq list` reports expiry by.",
)

_K8S_NAME_INVALID = re.compile(r"[^a-z0-9.-]")


@dataclass(frozen=True)
class ClusterTopic:
    """One topic as the production cluster must have it."""

    name: str
    role: str
    partitions: int
    config: dict[str, str | int]

    @property
    def resource_name(self) -> str:
        """A Kubernetes object name for the topic (RFC 1123: no underscores)."""
        return _K8S_NAME_INVALID.sub("-", self.name.lower())


def cluster_topics(catalog: Catalog, partitions: int) -> list[ClusterTopic]:
    """Every topic the hub uses, with its production cleanup policy and retention.

    Names, partition counts, compaction and retention come from
    ``services.topics.topic_specs``, the same list the hub creates on the embedded broker,
    so both stacks agree on them; production adds only the in-sync replica floor.

    Args:
        catalog: the loaded schema catalog.
        partitions: partitions of the source and view topics.

    Returns:
        The topics sorted by name.
    """
    dead_letters = {dlq_topic(department) for department in catalog.departments()}
    notices = {parked_topic(department) for department in catalog.departments()}
    topics: list[ClusterTopic] = []
    for spec in topic_specs(catalog, partitions):
        role = "view" if spec.compacted else "dlq" if spec.name in dead_letters else "source"
        role = "parked" if spec.name in notices else role
        config: dict[str, str | int] = {k: _number(v) for k, v in spec.config.items()}
        config["min.insync.replicas"] = MIN_INSYNC_REPLICAS
        topics.append(ClusterTopic(spec.name, role, spec.partitions, config))
    return topics


def render_kafka_topics(catalog: Catalog, partitions: int, replicas: int) -> str:
    """Strimzi ``KafkaTopic`` resources for every topic, as one multi-document YAML text.

    Args:
        catalog: the loaded schema catalog.
        partitions: partitions of the source and view topics.
        replicas: replication factor of every topic.

    Returns:
        The YAML text of ``deploy/k8s/topics.yaml``.
    """
    notes = (GENERATED_NOTE.format(flags=_flags(partitions, replicas, "strimzi")), *RETENTION_NOTE)
    header = "".join(f"# {note}\n" for note in notes)
    documents = [_kafka_topic(topic, replicas) for topic in cluster_topics(catalog, partitions)]
    body = yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True, width=100)
    return header + body


def render_topic_script(catalog: Catalog, partitions: int, replicas: int) -> str:
    """A POSIX shell script that creates every topic with ``kafka-topics.sh`` (compose stack).

    Args:
        catalog: the loaded schema catalog.
        partitions: partitions of the source and view topics.
        replicas: replication factor of every topic.

    Returns:
        The text of ``deploy/kafka/create-topics.sh``.
    """
    lines = [
        "#!/bin/sh",
        f"# {GENERATED_NOTE.format(flags=_flags(partitions, replicas, 'script'))}",
        "# Creates every datong topic; topics that exist already are left as they are.",
        *(f"# {note}" for note in RETENTION_NOTE),
        "set -eu",
        'BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka-1:19092}"',
        'KAFKA_TOPICS="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"',
        f"REPLICAS={replicas}",
        "",
        "create() {",
        '  topic="$1"; partitions="$2"; shift 2',
        '  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \\',
        '    --topic "$topic" --partitions "$partitions" --replication-factor "$REPLICAS" "$@"',
        "}",
        "",
    ]
    for topic in cluster_topics(catalog, partitions):
        configs = " ".join(
            f"--config {shlex.quote(f'{key}={value}')}" for key, value in topic.config.items()
        )
        lines.append(f"create {shlex.quote(topic.name)} {topic.partitions} {configs}")
    return "\n".join(lines) + "\n"


def main(
    argv: Sequence[str], settings: Settings | None = None, departments: Sequence[str] = ()
) -> int:
    """``datong deploy render-topics [--format strimzi|script] [--partitions N] [--replicas N]``,
    ``datong deploy render-alerts [--format prometheus|k8s]`` or
    ``datong deploy render-connectors [--image IMAGE]``.

    Prints the rendered manifest on standard output; returns the process exit code. The
    alert rules take the feed schedule and consumer group of ``settings`` (``DATONG_*``);
    the connectors are those of ``departments`` (the composition root passes the mappings').
    """
    parser = argparse.ArgumentParser(prog="datong deploy")
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render-topics", help="print the topics of the catalog")
    render.add_argument("--format", choices=("strimzi", "script"), default="strimzi")
    render.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    render.add_argument("--replicas", type=int, default=DEFAULT_REPLICAS)
    alerts = commands.add_parser("render-alerts", help="print the alert rules")
    alerts.add_argument("--format", choices=("prometheus", "k8s"), default="prometheus")
    connectors = commands.add_parser("render-connectors", help="print the connectors' objects")
    connectors.add_argument("--image", default=DEFAULT_IMAGE, help="registry/name:tag")
    args = parser.parse_args(list(argv))
    if args.command == "render-connectors":
        print(render_connectors(departments, args.image), end="")
        return 0
    if args.command == "render-alerts":
        print(render_alerts(settings or Settings.from_env(), args.format), end="")
        return 0
    renderer = render_kafka_topics if args.format == "strimzi" else render_topic_script
    print(renderer(Catalog.load(), args.partitions, args.replicas), end="")
    return 0


def render_alerts(settings: Settings, fmt: str) -> str:
    """The alert rules for compose's Prometheus (``prometheus``) or the Prometheus Operator
    (``k8s``), with the feed schedule and consumer group of ``settings``."""
    rules = alert_rules(settings.feed_schedule, settings.consumer_group)
    if fmt == "k8s":
        return render_prometheus_rule(rules, " --format k8s")
    return render_rule_file(rules)


def _flags(partitions: int, replicas: int, fmt: str) -> str:
    flags = "" if fmt == "strimzi" else f" --format {fmt}"
    if partitions != DEFAULT_PARTITIONS:
        flags += f" --partitions {partitions}"
    if replicas != DEFAULT_REPLICAS:
        flags += f" --replicas {replicas}"
    return flags


def _number(value: str) -> str | int:
    """A config value as the manifests write it: numbers as numbers."""
    return int(value) if value.lstrip("-").isdigit() else value


def _kafka_topic(topic: ClusterTopic, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaTopic",
        "metadata": {
            "name": topic.resource_name,
            "labels": {
                "strimzi.io/cluster": KAFKA_CLUSTER,
                "app.kubernetes.io/part-of": "datong",
                "datong.io/topic-role": topic.role,
            },
        },
        "spec": {
            "topicName": topic.name,
            "partitions": topic.partitions,
            "replicas": replicas,
            "config": dict(topic.config),
        },
    }
