"""deploy/k8s least privilege: each Kafka principal may do only its part of the data flow,
the pod network admits only the paths that flow needs, the API is reached over TLS, and the
connectors are one rendered template, not hand-made copies."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.mappings import MAPPINGS
from schemas.catalog import Catalog, dlq_topic, parked_topic
from services.connector_manifests import connector_user, render_connectors
from tests.support.manifests import K8S_DIR, k8s_documents

DOCUMENTS = [doc for _, doc in k8s_documents()]
# Operations that change or remove what others rely on: no datong principal has them.
DESTRUCTIVE = {"Create", "Delete", "Alter", "AlterConfigs", "All", "ClusterAction"}
PROMETHEUS = {"app.kubernetes.io/name": "prometheus"}
KAFKA = {"strimzi.io/cluster": "datong", "strimzi.io/kind": "Kafka"}
REGISTRY = {"app.kubernetes.io/name": "schema-registry"}
DATABASE = {"cnpg.io/cluster": "datong-db"}
POOLER = {"cnpg.io/poolerName": "datong-db-pooler-rw"}


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in DOCUMENTS if doc["kind"] == kind]


def _named(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [doc for doc in _of_kind(kind) if doc["metadata"]["name"] == name]
    return doc


def _grants(user: str) -> set[tuple[str, str, str, str]]:
    """(resource type, name, pattern, operation) for every ACL of a KafkaUser."""
    acls = _named("KafkaUser", user)["spec"]["authorization"]["acls"]
    return {
        (
            a["resource"]["type"],
            a["resource"].get("name", ""),
            a["resource"].get("patternType", ""),
            op,
        )
        for a in acls
        for op in a["operations"]
    }


def _topics_granted(user: str, operation: str) -> set[str]:
    """Topic names (prefixes end with '.') a user may perform ``operation`` on."""
    return {name for kind, name, _, op in _grants(user) if kind == "topic" and op == operation}


def test_kafka_refuses_what_no_acl_allows() -> None:
    assert _named("Kafka", "datong")["spec"]["kafka"]["authorization"] == {"type": "simple"}
    for user in _of_kind("KafkaUser"):
        assert user["spec"]["authorization"]["type"] == "simple", user["metadata"]["name"]
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"


@pytest.mark.parametrize("department", sorted(MAPPINGS))
def test_a_connector_writes_only_its_own_source_topics_dead_letters_and_notices(
    department: str,
) -> None:
    user = connector_user(department)
    own = {f"src.{department}.", dlq_topic(department), parked_topic(department)}
    assert _topics_granted(user, "Write") == own
    assert _topics_granted(user, "Read") == set()
    assert not {op for *_, op in _grants(user)} & DESTRUCTIVE
    assert not any(kind == "group" for kind, *_ in _grants(user)), "a producer has no group"
    # Its prefix covers none of another department's topics (the dot ends the name).
    for other in set(MAPPINGS) - {department}:
        assert not f"src.{other}.".startswith(f"src.{department}.")


@pytest.mark.parametrize("department", sorted(MAPPINGS))
def test_a_connectors_grants_cover_every_topic_its_department_publishes(department: str) -> None:
    # The other side of the check above: an ACL narrower than the catalog stops the feed.
    user = connector_user(department)
    (prefix,) = _topics_granted(user, "Write") - {dlq_topic(department), parked_topic(department)}
    topics = [contract.topic for contract in Catalog.load().sources(department)]
    assert topics
    assert all(topic.startswith(prefix) for topic in topics)
    assert dlq_topic(department) in _topics_granted(user, "Write")


def test_workers_read_the_sources_and_write_the_views_in_their_group() -> None:
    assert _topics_granted("datong-worker", "Read") == {"src."}
    assert _topics_granted("datong-worker", "Write") == {"view.", "dlq."}
    groups = {(n, op) for kind, n, _, op in _grants("datong-worker") if kind == "group"}
    assert ("datong-merge", "Read") in groups
    assert not {op for *_, op in _grants("datong-worker")} & DESTRUCTIVE


def test_the_api_reads_the_views_and_writes_only_what_departments_push() -> None:
    assert _topics_granted("datong-api", "Read") == {"view."}
    assert _topics_granted("datong-api", "Write") == {"src."}  # HTTP push, as a connector
    assert not {op for *_, op in _grants("datong-api")} & DESTRUCTIVE


def test_the_registry_touches_only_its_own_topic_and_group() -> None:
    topics = {n for kind, n, _, _ in _grants("schema-registry") if kind == "topic"}
    groups = {n for kind, n, _, _ in _grants("schema-registry") if kind == "group"}
    assert (topics, groups) == ({"_schemas"}, {"schema-registry"})


def test_every_kafka_user_is_one_a_process_logs_in_as() -> None:
    used = {
        env["value"]
        for deployment in _of_kind("Deployment")
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for env in container.get("env", [])
        if env["name"] == "DATONG_KAFKA_SASL_USERNAME"
    }
    users = {user["metadata"]["name"] for user in _of_kind("KafkaUser")}
    assert used == users - {"schema-registry"}
    assert {connector_user(d) for d in MAPPINGS} <= used


def test_the_connectors_are_the_rendering_of_one_template() -> None:
    committed = (K8S_DIR / "connectors.yaml").read_text(encoding="utf-8")
    assert committed == render_connectors(list(MAPPINGS)), (
        "deploy/k8s/connectors.yaml is stale: `datong deploy render-connectors > "
        "deploy/k8s/connectors.yaml`"
    )


def test_the_drift_check_notices_a_department_without_its_connector() -> None:
    committed = (K8S_DIR / "connectors.yaml").read_text(encoding="utf-8")
    assert committed != render_connectors([*MAPPINGS, "water-board"])
    assert "image: registry.example/datong:1.2.3" in render_connectors(
        list(MAPPINGS), "registry.example/datong:1.2.3"
    )


# --- the pod network ---------------------------------------------------------------------


def _policies_for(labels: dict[str, str]) -> list[dict[str, Any]]:
    def selects(policy: dict[str, Any]) -> bool:
        selector = policy["spec"]["podSelector"]
        if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
            return False
        return all(
            labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", [])
        )

    return [p for p in _of_kind("NetworkPolicy") if selects(p)]


def _peers(rules: list[dict[str, Any]], side: str) -> set[tuple[str, int]]:
    """(peer summary, port) for every rule: the peer's pod labels as 'k=v,...', or '*'."""
    found: set[tuple[str, int]] = set()
    for rule in rules:
        peers = rule.get(side) or [{}]
        ports = [p["port"] for p in rule.get("ports", [{"port": 0}])]
        for peer in peers:
            labels = peer.get("podSelector", {}).get("matchLabels", {})
            namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
            key = ",".join(f"{k}={v}" for k, v in sorted({**namespace, **labels}.items())) or "*"
            found |= {(key, port) for port in ports}
    return found


def _pod_labels(name: str) -> dict[str, str]:
    labels: dict[str, str] = _named("Deployment", name)["spec"]["template"]["metadata"]["labels"]
    return labels


def _allowed(name: str, direction: str) -> set[tuple[str, int]]:
    side = "from" if direction == "ingress" else "to"
    return set().union(
        *(_peers(p["spec"].get(direction, []), side) for p in _policies_for(_pod_labels(name)))
    )


def _summary(*selectors: dict[str, str]) -> str:
    merged = {k: v for s in selectors for k, v in s.items()}
    return ",".join(f"{k}={v}" for k, v in sorted(merged.items()))


DNS = {(_summary({"kubernetes.io/metadata.name": "kube-system", "k8s-app": "kube-dns"}), 53)}
SCRAPER = _summary({"kubernetes.io/metadata.name": "monitoring"}, PROMETHEUS)


def test_everything_is_denied_unless_a_policy_allows_it() -> None:
    deny = _named("NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize("department", sorted(MAPPINGS))
def test_a_connector_reaches_kafka_the_registry_and_its_state_store_only(department: str) -> None:
    name = f"datong-connector-{department}"
    assert _allowed(name, "egress") == DNS | {
        (_summary(KAFKA), 9093),
        (_summary(REGISTRY), 8081),
        (_summary(DATABASE), 5432),
    }
    assert _allowed(name, "ingress") == {(SCRAPER, 9102)}


def test_workers_reach_kafka_the_registry_and_postgresql_and_only_prometheus_reaches_them() -> None:
    assert _allowed("datong-worker", "egress") == DNS | {
        (_summary(KAFKA), 9093),
        (_summary(REGISTRY), 8081),
        (_summary(DATABASE), 5432),
        (_summary(POOLER), 5432),
    }
    assert _allowed("datong-worker", "ingress") == {(SCRAPER, 9101)}


def test_the_api_is_reached_by_the_ingress_controller_and_prometheus_only() -> None:
    ingress_controller = _summary({"kubernetes.io/metadata.name": "ingress-nginx"})
    assert _allowed("datong-api", "ingress") == {(ingress_controller, 8080), (SCRAPER, 8080)}
    assert _allowed("datong-api", "egress") == DNS | {
        (_summary(KAFKA), 9093),
        (_summary(REGISTRY), 8081),
        (_summary(DATABASE), 5432),
        (_summary(POOLER), 5432),
    }


def test_every_pod_that_talks_to_kafka_is_a_listener_peer() -> None:
    (listener,) = _named("Kafka", "datong")["spec"]["kafka"]["listeners"]
    peer, keda = listener["networkPolicyPeers"]
    label = peer["podSelector"]["matchLabels"]
    assert keda["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "keda"}
    for deployment in _of_kind("Deployment"):
        pod = deployment["spec"]["template"]["metadata"]["labels"]
        assert label.items() <= pod.items(), deployment["metadata"]["name"]


# --- the edge and availability -----------------------------------------------------------


def test_the_api_is_published_over_tls_only() -> None:
    (ingress,) = _of_kind("Ingress")
    spec = ingress["spec"]
    hosts = {rule["host"] for rule in spec["rules"]}
    (tls,) = spec["tls"]
    assert set(tls["hosts"]) == hosts and tls["secretName"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"]
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    (path,) = [p for rule in spec["rules"] for p in rule["http"]["paths"]]
    assert path["backend"]["service"]["name"] == "datong-api"


@pytest.mark.parametrize("name", ["datong-api", "datong-worker", "schema-registry"])
def test_replicated_services_survive_a_drain_and_spread_over_nodes(name: str) -> None:
    (budget,) = [
        p
        for p in _of_kind("PodDisruptionBudget")
        if p["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}
    ]
    assert budget["spec"].get("minAvailable", 0) >= 1 or budget["spec"]["maxUnavailable"] == 1
    pod = _named("Deployment", name)["spec"]["template"]["spec"]
    keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
    assert "kubernetes.io/hostname" in keys
    for constraint in pod["topologySpreadConstraints"]:
        assert constraint["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}


def test_datong_pods_get_no_kubernetes_api_token() -> None:
    for deployment in _of_kind("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, deployment["metadata"]["name"]


def test_workers_and_the_api_may_read_and_write_every_topic_of_their_part() -> None:
    catalog = Catalog.load()
    sources = [c.topic for c in catalog.sources()]
    views = [c.topic for c in catalog.views()]
    assert sources and views
    (read,) = _topics_granted("datong-worker", "Read")
    assert all(topic.startswith(read) for topic in sources)
    written = _topics_granted("datong-worker", "Write")
    assert all(any(topic.startswith(w) for w in written) for topic in views)
    (api_read,) = _topics_granted("datong-api", "Read")
    assert all(topic.startswith(api_read) for topic in views)
