"""deploy/k8s: every manifest valid under the published schemas, and the cluster it describes."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from connectors.mappings import MAPPINGS
from schemas.catalog import Catalog
from services.api.readiness import CHECK_TIMEOUT_S
from services.deploy_manifests import DEFAULT_PARTITIONS, DEFAULT_REPLICAS, MIN_INSYNC_REPLICAS
from tests.support.manifests import (
    K8S_DIR,
    K8S_VERSIONS,
    documented_secrets,
    k8s_documents,
    load_documents,
    secret_names,
)
from tests.support.manifests import manifest_errors as schema_errors

DOCUMENTS = list(k8s_documents())
# RFC 1123 subdomain: what Kubernetes accepts as an object name.
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DATONG_IMAGE = re.compile(r"^datong:")
SASL_TLS_SETTINGS = (
    "DATONG_KAFKA_SECURITY_PROTOCOL",
    "DATONG_KAFKA_SASL_MECHANISM",
    "DATONG_KAFKA_SSL_CAFILE",
)


def _ids() -> list[str]:
    return [f"{path.name}:{doc['kind']}/{doc['metadata']['name']}" for path, doc in DOCUMENTS]


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in DOCUMENTS if doc["kind"] == kind]


def _named(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [doc for doc in _of_kind(kind) if doc["metadata"]["name"] == name]
    return doc


def _containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return containers


def _config() -> dict[str, str]:
    data: dict[str, str] = _named("ConfigMap", "datong-config")["data"]
    return data


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(("path", "doc"), DOCUMENTS, ids=_ids())
def test_manifest_is_valid_under_its_published_schema(
    path: Path, doc: dict[str, Any], version: str
) -> None:
    assert schema_errors(doc, version) == [], f"{path.name}"


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_validators_reject_broken_copies(version: str) -> None:
    deployment = copy.deepcopy(_named("Deployment", "datong-worker"))
    deployment["spec"]["replicas"] = "two"
    _containers(deployment)[0]["livenessProbe"]["httpGet"]["pat"] = "/healthz"
    kafka = copy.deepcopy(_named("Kafka", "datong"))
    kafka["spec"]["kafka"]["listeners"][0]["type"] = "public"
    # A pruned subtree of the vendored CRD schema is refused, not waved through.
    pruned = copy.deepcopy(_named("Kafka", "datong"))
    pruned["spec"]["kafka"]["template"] = {"pod": {}}
    topic = copy.deepcopy(_of_kind("KafkaTopic")[0])
    topic["spec"]["partitions"] = 0
    scaled = copy.deepcopy(_named("ScaledObject", "datong-worker"))
    del scaled["spec"]["scaleTargetRef"]["name"]
    database = copy.deepcopy(_named("Cluster", "datong-db"))
    database["spec"]["instances"] = "three"
    database["spec"]["backup"]["barmanObjectStore"]["wal"]["compresion"] = "gzip"
    unknown = {"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "x"}}
    assert len(schema_errors(deployment, version)) == 2
    assert schema_errors(kafka, version)
    assert schema_errors(pruned, version)
    assert schema_errors(topic, version)
    assert schema_errors(scaled, version)
    assert len(schema_errors(database, version)) == 2
    assert schema_errors(unknown, version)


def test_object_names_are_valid_and_unique() -> None:
    seen: set[tuple[str, str]] = set()
    for _, doc in DOCUMENTS:
        name = doc["metadata"]["name"]
        assert K8S_NAME.match(name) and len(name) <= 253, name
        assert (doc["kind"], name) not in seen, f"duplicate {doc['kind']}/{name}"
        seen.add((doc["kind"], name))


def test_kafka_is_kraft_with_three_replicated_nodes() -> None:
    (pool,) = _of_kind("KafkaNodePool")
    kafka = _named("Kafka", "datong")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "datong"
    assert pool["spec"]["replicas"] == 3
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert "zookeeper" not in kafka["spec"]
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == DEFAULT_REPLICAS
    assert config["min.insync.replicas"] == MIN_INSYNC_REPLICAS
    assert config["offsets.topic.replication.factor"] == DEFAULT_REPLICAS
    assert config["auto.create.topics.enable"] is False
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True
    assert listener["authentication"]["type"] == "scram-sha-512"
    assert {"topicOperator", "userOperator"} <= set(kafka["spec"]["entityOperator"])


def test_every_deployment_has_liveness_and_readiness_probes() -> None:
    deployments = _of_kind("Deployment")
    assert {"datong-api", "datong-worker"} <= {d["metadata"]["name"] for d in deployments}
    for deployment in deployments:
        for container in _containers(deployment):
            for probe in ("livenessProbe", "readinessProbe"):
                assert probe in container, f"{deployment['metadata']['name']} lacks {probe}"


def test_datong_containers_keep_the_images_init_and_never_create_topics() -> None:
    for deployment in _of_kind("Deployment"):
        for container in _containers(deployment):
            if DATONG_IMAGE.match(container["image"]):
                # `command` would replace ENTRYPOINT ["tini", "--", "datong"]: no init as PID 1.
                assert "command" not in container, deployment["metadata"]["name"]
                assert container["args"], deployment["metadata"]["name"]
    assert _config()["DATONG_TOPICS"] == "require"  # topics.yaml makes them, never a process


def test_the_api_is_ready_on_its_own_check_within_the_probes_timeout() -> None:
    (api,) = _containers(_named("Deployment", "datong-api"))
    readiness = api["readinessProbe"]
    assert readiness["httpGet"]["path"] == "/readyz"
    assert readiness["timeoutSeconds"] > CHECK_TIMEOUT_S  # the API answers before it gives up


def test_merge_workers_scale_on_the_groups_lag_up_to_the_partition_count() -> None:
    assert _of_kind("HorizontalPodAutoscaler") == []  # KEDA makes the one it drives
    (scaled,) = _of_kind("ScaledObject")
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == "datong-worker"
    assert _containers(_named("Deployment", "datong-worker"))[0]["args"] == ["worker"]
    assert "replicas" not in _named("Deployment", "datong-worker")["spec"], "it fights KEDA"
    assert 2 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
    assert spec["maxReplicaCount"] == int(_config()["DATONG_PARTITIONS"]) == DEFAULT_PARTITIONS
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "kafka"
    metadata = trigger["metadata"]
    assert metadata["consumerGroup"] == _config()["DATONG_CONSUMER_GROUP"]
    assert metadata["bootstrapServers"] == _config()["DATONG_KAFKA_BOOTSTRAP"]
    assert (metadata["sasl"], metadata["tls"]) == ("scram_sha512", "enable")
    auth = _named("TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]
    secrets = {ref["parameter"]: ref["name"] for ref in auth["secretTargetRef"]}
    assert secrets == {"password": "datong-worker", "ca": "datong-cluster-ca-cert"}
    (username,) = auth["env"]
    worker = _containers(_named("Deployment", "datong-worker"))[0]
    names = {env["name"]: env.get("value") for env in worker["env"]}
    assert names[username["name"]] == "datong-worker"


def test_the_hubs_dead_letter_days_match_the_dlq_topics() -> None:
    days = int(_config()["DATONG_DLQ_RETENTION_DAYS"])
    dead_letters = [
        d
        for d in _of_kind("KafkaTopic")
        if d["metadata"]["labels"]["datong.io/topic-role"] == "dlq"
    ]
    assert dead_letters
    for topic in dead_letters:
        assert topic["spec"]["config"]["retention.ms"] == days * 24 * 3600 * 1000


def test_no_secret_is_applied_from_the_repository() -> None:
    # `kubectl apply -f deploy/k8s/` would overwrite the real keys with placeholders.
    assert _of_kind("Secret") == []
    config = _config()
    secret = {"DATONG_HMAC_KEY", "DATONG_SEAL_KEY", "DATONG_KAFKA_SASL_PASSWORD"}
    assert not (secret | {"DATONG_METRICS_TOKEN", "DATONG_REGISTRY_PASSWORD"}) & set(config)


def test_every_secret_referenced_is_made_by_an_operator_or_a_documented_command() -> None:
    made_by_strimzi = {doc["metadata"]["name"] for doc in _of_kind("KafkaUser")}
    made_by_strimzi.add("datong-cluster-ca-cert")
    referenced = set().union(*(secret_names(doc) for _, doc in DOCUMENTS))
    assert {"datong-keys", "datong-database", "datong-metrics", "datong-api-tls"} <= referenced
    assert {"datong-db-app", "datong-db-connectors", "datong-backup-s3"} <= referenced
    for name in referenced - made_by_strimzi:
        assert name in documented_secrets(), f"{name}: no `kubectl create secret` in the README"


def test_datong_containers_get_sasl_tls_settings_and_secrets() -> None:
    config = _config()
    assert config["DATONG_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["DATONG_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert config["DATONG_KAFKA_BOOTSTRAP"] == "datong-kafka-bootstrap:9093"
    users = {doc["metadata"]["name"] for doc in _of_kind("KafkaUser")}
    datong = [d for d in _of_kind("Deployment") if DATONG_IMAGE.match(_containers(d)[0]["image"])]
    assert len(datong) >= 3
    principals = set()
    for deployment in datong:
        name = deployment["metadata"]["name"]
        container = _containers(deployment)[0]
        sources = _env_sources(container)
        store = "datong-connector-state" if _is_connector(deployment) else "datong-database"
        assert {"datong-config", "datong-keys", "datong-registry", store} <= sources, name
        env = {item["name"]: item for item in container["env"]}
        user = env["DATONG_KAFKA_SASL_USERNAME"]["value"]
        assert user in users, name
        password = env["DATONG_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": user, "key": "password"}
        principals.add(user)
        mounts = [m["mountPath"] for m in container["volumeMounts"]]
        assert any(config["DATONG_KAFKA_SSL_CAFILE"].startswith(m + "/") for m in mounts), name
        assert any(m == "/etc/datong/postgres-ca" for m in mounts), name
        assert all(key in config for key in SASL_TLS_SETTINGS)
    assert len(principals) == len(datong), "each kind of process is a principal of its own"


def test_production_processes_require_the_metrics_token_and_verified_database_tls() -> None:
    config = _config()
    assert config["DATONG_METRICS_AUTH"] == "token"
    assert config["DATONG_DATABASE_TLS"] == "verify-full"
    for deployment in _of_kind("Deployment"):
        container = _containers(deployment)[0]
        if not DATONG_IMAGE.match(container["image"]):
            continue
        env = {item["name"]: item for item in container["env"]}
        token = env["DATONG_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert token == {"name": "datong-metrics", "key": "token"}, deployment["metadata"]["name"]


def _env_sources(container: dict[str, Any]) -> set[str]:
    """The ConfigMaps and Secrets a container takes variables from, whole or one key."""
    whole = {next(iter(ref.values()))["name"] for ref in container.get("envFrom", [])}
    keys = {
        next(iter(item["valueFrom"].values()))["name"]
        for item in container.get("env", [])
        if "valueFrom" in item
    }
    return whole | keys


def _is_connector(deployment: dict[str, Any]) -> bool:
    args: list[str] = _containers(deployment)[0].get("args", [])
    return args[:2] == ["connector", "run"]


def test_connectors_get_the_registry_and_their_own_state_store_but_no_database_secret() -> None:
    connectors = [d for d in _of_kind("Deployment") if _is_connector(d)]
    assert len(connectors) == len(MAPPINGS)
    for deployment in connectors:
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            assert "datong-database" not in _env_sources(container), name
            assert "DATONG_DATABASE_URL" not in {e["name"] for e in container.get("env", [])}
        assert "datong-connector-state" in _env_sources(_containers(deployment)[0]), name
    assert _config()["DATONG_REGISTRY_URL"].startswith("http://schema-registry:")
    assert "DATONG_DATABASE_URL" not in _config()


def test_the_api_registers_the_catalog_before_it_serves() -> None:
    # Connectors only look schema ids up: something must have registered them first.
    init = _named("Deployment", "datong-api")["spec"]["template"]["spec"]["initContainers"]
    assert [c["args"] for c in init] == [["schemas", "register"]]
    assert {"datong-config", "datong-database"} <= _env_sources(init[0])


def test_connectors_run_for_every_department_with_a_mapping() -> None:
    commands = [_containers(d)[0].get("args", []) for d in _of_kind("Deployment")]
    connectors = [args for args in commands if args[:2] == ["connector", "run"]]
    # A connector only for each department that has a mapping, each watching its drop folder.
    assert sorted(args[2] for args in connectors) == sorted(MAPPINGS)
    assert set(MAPPINGS) <= set(Catalog.load().departments())
    for args in connectors:
        assert "--watch" in args and "--source" in args, args
    sources = _named("ConfigMap", "datong-connector-sources")["data"]
    assert set(sources) == set(MAPPINGS)


def test_connector_drop_folders_are_created_before_the_connector_starts() -> None:
    sources = _named("ConfigMap", "datong-connector-sources")["data"]
    for deployment in _of_kind("Deployment"):
        args = _containers(deployment)[0].get("args", [])
        if args[:2] != ["connector", "run"]:
            continue
        folder = re.sub(r"^file://|\?.*$", "", sources[args[2]])
        init = deployment["spec"]["template"]["spec"].get("initContainers", [])
        created = {arg for container in init for arg in container.get("command", [])}
        assert folder in created, f"{deployment['metadata']['name']}: {folder} is never created"


def test_every_manifest_file_is_yaml_with_kind_and_name() -> None:
    for path in sorted(K8S_DIR.glob("*")):
        assert path.suffix == ".yaml", f"{path.name}: kubectl apply -f picks up only manifests"
        for doc in load_documents(path):
            assert doc.get("kind") and doc.get("metadata", {}).get("name"), path.name
