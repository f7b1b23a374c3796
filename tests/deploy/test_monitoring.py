"""deploy/k8s monitoring: the Prometheus Operator scrapes every datong process and the
Kafka Exporter under the job names the alert rules match, and loads the rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from services.alert_rules import EXPORTER_JOB, JOBS
from services.settings import Settings
from tests.support.manifests import DEPLOY, K8S_VERSIONS, k8s_documents, load_yaml, manifest_errors

DOCUMENTS = [doc for _, doc in k8s_documents()]
MONITORS = ("ServiceMonitor", "PodMonitor")


def _of_kind(*kinds: str) -> list[dict[str, Any]]:
    return [doc for doc in DOCUMENTS if doc["kind"] in kinds]


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


def _endpoints(monitor: dict[str, Any]) -> list[dict[str, Any]]:
    key = "endpoints" if monitor["kind"] == "ServiceMonitor" else "podMetricsEndpoints"
    endpoints: list[dict[str, Any]] = monitor["spec"][key]
    return endpoints


def _job(monitor: dict[str, Any]) -> str:
    (endpoint,) = _endpoints(monitor)
    (job,) = [r["replacement"] for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
    return str(job)


def _monitors_of(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """The monitors that scrape a Deployment's pods: directly, or through a Service."""
    pod = deployment["spec"]["template"]["metadata"]["labels"]
    services = [
        s
        for s in _of_kind("Service")
        if all(pod.get(k) == v for k, v in s["spec"]["selector"].items())
    ]
    found = [m for m in _of_kind("PodMonitor") if _matches(m["spec"]["selector"], pod)]
    for service in services:
        labels = service["metadata"].get("labels", {})
        found += [m for m in _of_kind("ServiceMonitor") if _matches(m["spec"]["selector"], labels)]
    return found


def _port_names(deployment: dict[str, Any]) -> set[str]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return {port["name"] for c in containers for port in c.get("ports", [])}


def test_every_datong_deployment_is_scraped_once_under_a_rule_job() -> None:
    deployments = [d for d in _of_kind("Deployment") if d["metadata"]["name"].startswith("datong-")]
    assert deployments
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        monitors = _monitors_of(deployment)
        assert len(monitors) == 1, f"{name} is scraped by {len(monitors)} monitors, not one"
        monitor = monitors[0]
        assert _job(monitor) in JOBS, name
        if monitor["kind"] == "PodMonitor":
            (endpoint,) = _endpoints(monitor)
            assert endpoint["port"] in _port_names(deployment), name


def test_every_rule_job_has_a_monitor() -> None:
    assert {_job(m) for m in _of_kind(*MONITORS)} == set(JOBS)


def test_the_kafka_cluster_runs_the_exporter_the_lag_alert_reads() -> None:
    (kafka,) = _of_kind("Kafka")
    exporter = kafka["spec"]["kafkaExporter"]
    assert exporter["groupRegex"] == "datong-.*"
    (monitor,) = [m for m in _of_kind("PodMonitor") if _job(m) == EXPORTER_JOB]
    cluster = kafka["metadata"]["name"]
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "strimzi.io/cluster": cluster,
        "strimzi.io/name": f"{cluster}-kafka-exporter",
    }
    (endpoint,) = _endpoints(monitor)
    assert endpoint["port"] == "tcp-prometheus"  # the port Strimzi names on the exporter pod


def test_the_rules_and_monitors_are_labelled_for_the_prometheus_to_select() -> None:
    for doc in _of_kind(*MONITORS, "PrometheusRule"):
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "datong"
    (rule,) = _of_kind("PrometheusRule")
    assert {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_the_vendored_operator_schemas_reject_broken_monitors(version: str) -> None:
    (service_monitor,) = _of_kind("ServiceMonitor")
    broken = copy.deepcopy(service_monitor)
    broken["spec"]["endpoints"][0]["relabelings"][0]["action"] = "explode"
    pod_monitor = copy.deepcopy(_of_kind("PodMonitor")[0])
    pod_monitor["spec"]["podMetricsEndpoints"][0]["scrapeInterval"] = "15s"
    (rule,) = _of_kind("PrometheusRule")
    bad_rule = copy.deepcopy(rule)
    bad_rule["spec"]["groups"][0]["rules"][0]["for"] = "two minutes"
    kafka = copy.deepcopy(_of_kind("Kafka")[0])
    kafka["spec"]["kafkaExporter"]["groupRegexp"] = "datong-.*"
    assert manifest_errors(service_monitor, version) == []
    for doc in (broken, pod_monitor, bad_rule, kafka):
        assert manifest_errors(doc, version), doc["kind"]


def test_the_deployed_cadences_are_the_defaults_spelled_out() -> None:
    (config,) = [d for d in _of_kind("ConfigMap") if d["metadata"]["name"] == "datong-config"]
    deployed = Settings.from_env({"DATONG_FEED_CADENCE": config["data"]["DATONG_FEED_CADENCE"]})
    assert deployed.feed_schedule == Settings.from_env({}).feed_schedule
    compose = load_yaml(DEPLOY / "compose.yaml")["x-connector-env"]["DATONG_FEED_CADENCE"]
    assert compose == config["data"]["DATONG_FEED_CADENCE"]
