"""The topic manifests follow the schema catalog: one KafkaTopic per topic, nothing else."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.catalog import AVRO_ROOT, Catalog, dlq_topic, parked_topic
from services.deploy_manifests import (
    DEFAULT_PARTITIONS,
    DEFAULT_REPLICAS,
    MIN_INSYNC_REPLICAS,
    render_kafka_topics,
    render_topic_script,
)
from tests.support.manifests import DEPLOY, K8S_DIR, load_documents

TOPICS_YAML = K8S_DIR / "topics.yaml"
TOPICS_SCRIPT = DEPLOY / "kafka" / "create-topics.sh"
THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000
KEEP_FOREVER = -1


def _topics_by_name() -> dict[str, dict[str, Any]]:
    topics = [doc for doc in load_documents(TOPICS_YAML) if doc["kind"] == "KafkaTopic"]
    return {doc["spec"]["topicName"]: doc for doc in topics}


def test_topics_yaml_is_the_rendering_of_the_current_catalog() -> None:
    expected = render_kafka_topics(Catalog.load(), DEFAULT_PARTITIONS, DEFAULT_REPLICAS)
    assert TOPICS_YAML.read_text(encoding="utf-8") == expected, (
        "deploy/k8s/topics.yaml is out of date with the schema catalog; regenerate it with "
        "`datong deploy render-topics > deploy/k8s/topics.yaml`"
    )


def test_create_topics_script_is_the_rendering_of_the_current_catalog() -> None:
    expected = render_topic_script(Catalog.load(), DEFAULT_PARTITIONS, DEFAULT_REPLICAS)
    assert TOPICS_SCRIPT.read_text(encoding="utf-8") == expected, (
        "deploy/kafka/create-topics.sh is out of date with the schema catalog; regenerate it "
        "with `datong deploy render-topics --format script > deploy/kafka/create-topics.sh`"
    )


def test_kafka_topics_cover_exactly_the_catalog() -> None:
    catalog = Catalog.load()
    expected = {c.topic for c in catalog} | {dlq_topic(d) for d in catalog.departments()}
    expected |= {parked_topic(d) for d in catalog.departments()}
    assert set(_topics_by_name()) == expected


def test_each_topic_kind_has_its_cleanup_policy() -> None:
    catalog = Catalog.load()
    topics = _topics_by_name()
    sources = {c.topic for c in catalog if c.kind == "source"}
    for contract in catalog:
        spec = topics[contract.topic]["spec"]
        assert spec["replicas"] == DEFAULT_REPLICAS
        assert spec["config"]["min.insync.replicas"] == MIN_INSYNC_REPLICAS
        policy = "compact" if contract.kind == "view" else "delete"
        assert spec["config"]["cleanup.policy"] == policy, contract.topic
        assert contract.topic.startswith("view." if contract.kind == "view" else "src.")
    # Source topics are co-partitioned: one key, one partition number, on every topic.
    assert {topics[t]["spec"]["partitions"] for t in sources} == {DEFAULT_PARTITIONS}
    for department in catalog.departments():
        spec = topics[dlq_topic(department)]["spec"]
        assert spec["config"]["cleanup.policy"] == "delete"


def test_strimzi_source_topics_keep_every_event_so_views_can_be_rebuilt() -> None:
    topics = _topics_by_name()
    for contract in Catalog.load():
        config = topics[contract.topic]["spec"]["config"]
        if contract.kind == "source":
            assert config["retention.ms"] == KEEP_FOREVER, contract.topic
        else:
            assert "retention.ms" not in config, contract.topic  # compaction keeps them


def test_strimzi_dead_letters_expire_after_thirty_days() -> None:
    topics = _topics_by_name()
    for department in Catalog.load().departments():
        config = topics[dlq_topic(department)]["spec"]["config"]
        assert config["retention.ms"] == THIRTY_DAYS_MS, department


def _script_configs() -> dict[str, dict[str, str]]:
    """Each topic the compose stack's script creates, with its ``--config`` pairs."""
    configs: dict[str, dict[str, str]] = {}
    for line in TOPICS_SCRIPT.read_text(encoding="utf-8").splitlines():
        if line.startswith("create "):
            words = line.split()
            pairs = (words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--config")
            configs[words[1]] = dict(pairs)
    return configs


def test_compose_source_topics_keep_every_event_and_dead_letters_thirty_days() -> None:
    catalog = Catalog.load()
    configs = _script_configs()
    for contract in catalog:
        if contract.kind == "source":
            assert configs[contract.topic]["retention.ms"] == str(KEEP_FOREVER), contract.topic
    for department in catalog.departments():
        assert configs[dlq_topic(department)]["retention.ms"] == str(THIRTY_DAYS_MS)


def _tiny_catalog(tmp_path: Path) -> Catalog:
    """One department with one event, and one view whose name has an underscore."""
    root = tmp_path / "avro"
    shutil.copytree(AVRO_ROOT / "common", root / "common")
    (root / "civil_affairs").mkdir()
    (root / "views").mkdir()
    fields = [
        {"name": "event_id", "datong.class": "code", "type": "string", "doc": "Unique id."},
        {
            "name": "event_time",
            "datong.class": "time",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "When it happened.",
        },
        {"name": "department", "datong.class": "code", "type": "string", "doc": "Department."},
        {
            "name": "person_key",
            "datong.class": "pseudonym",
            "datong.owner": "datong",
            "type": "string",
            "doc": "Pseudonymous resident key.",
        },
    ]
    event = {
        "type": "record",
        "name": "CareVisitLogged",
        "namespace": "gov.civil_affairs",
        "doc": "A visit.",
        "datong.key": "person_key",
        "fields": fields,
    }
    view = {
        "type": "record",
        "name": "CareOverview",
        "namespace": "gov.views",
        "doc": "A view.",
        "datong.key": "person_key",
        "fields": fields[3:],
    }
    (root / "civil_affairs" / "CareVisitLogged.avsc").write_text(json.dumps(event))
    (root / "views" / "CareOverview.avsc").write_text(json.dumps(view))
    return Catalog.load(root)


def test_rendering_names_topics_for_kubernetes_and_keeps_the_kafka_name(tmp_path: Path) -> None:
    rendered = render_kafka_topics(_tiny_catalog(tmp_path), partitions=6, replicas=2)
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    names = {d["metadata"]["name"]: d["spec"]["topicName"] for d in documents}
    assert names == {
        "dlq.civil-affairs": "dlq.civil-affairs",
        "parked.civil-affairs": "parked.civil-affairs",
        "src.civil-affairs.care-visit-logged": "src.civil-affairs.care-visit-logged",
        "view.care-overview": "view.care_overview",
    }
    partitions = {d["spec"]["topicName"]: d["spec"]["partitions"] for d in documents}
    assert partitions["src.civil-affairs.care-visit-logged"] == 6
    assert partitions["view.care_overview"] == 6
    assert {d["spec"]["replicas"] for d in documents} == {2}
    assert all(d["metadata"]["labels"]["strimzi.io/cluster"] == "datong" for d in documents)


def test_create_topics_script_creates_each_topic_once_with_its_config(tmp_path: Path) -> None:
    if shutil.which("sh") is None:
        pytest.fail("a POSIX sh is needed to run deploy/kafka/create-topics.sh")
    script = tmp_path / "create-topics.sh"
    script.write_text(render_topic_script(_tiny_catalog(tmp_path), partitions=6, replicas=2))
    log = tmp_path / "calls"
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    env = {**os.environ, "KAFKA_TOPICS": str(fake), "KAFKA_BOOTSTRAP": "b:1"}
    subprocess.run(["sh", str(script)], check=True, env=env, timeout=30)
    calls = log.read_text().splitlines()
    assert len(calls) == 4  # source, view, dead letters, parked notices
    view = next(c for c in calls if "--topic view.care_overview " in c)
    assert view.startswith("--bootstrap-server b:1 --create --if-not-exists")
    assert "--partitions 6 --replication-factor 2" in view
    assert "--config cleanup.policy=compact" in view
    dlq = next(c for c in calls if "--topic dlq.civil-affairs " in c)
    assert "--config cleanup.policy=delete" in dlq
