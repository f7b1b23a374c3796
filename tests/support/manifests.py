"""Shared loaders and validators for the deployment tests: YAML documents, JSON schemas
(vendored Compose, Strimzi, Prometheus Operator, CloudNativePG and KEDA schemas, the
Kubernetes schemas of ``kubernetes-validate``) and the metric names that PromQL expressions
refer to."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_DIR = DEPLOY / "k8s"
# The vendored schemas stay beside the deployment tests, with their licence and README.
SCHEMAS = ROOT / "tests" / "deploy" / "schemas"

# The oldest Kubernetes minor the manifests promise to run on, and the newest known.
K8S_VERSIONS = ("1.30.0", "1.37.0")
STRIMZI_GROUP = "kafka.strimzi.io"
STRIMZI_SCHEMAS = {
    ("kafka.strimzi.io/v1", "Kafka"): "kafka_v1.json",
    ("kafka.strimzi.io/v1", "KafkaNodePool"): "kafkanodepool_v1.json",
    ("kafka.strimzi.io/v1", "KafkaTopic"): "kafkatopic_v1.json",
    ("kafka.strimzi.io/v1", "KafkaUser"): "kafkauser_v1.json",
}
MONITORING_GROUP = "monitoring.coreos.com"
MONITORING_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor_v1.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor_v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule_v1.json",
}
CNPG_GROUP = "postgresql.cnpg.io"
CNPG_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): "cluster_v1.json",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "scheduledbackup_v1.json",
    ("postgresql.cnpg.io/v1", "Pooler"): "pooler_v1.json",
}
KEDA_GROUP = "keda.sh"
KEDA_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject_v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication_v1alpha1.json",
}
# Custom resource schemas by API group: the folder under SCHEMAS and the files by kind.
CRD_SCHEMAS = {
    STRIMZI_GROUP: ("strimzi", STRIMZI_SCHEMAS),
    MONITORING_GROUP: ("prometheus-operator", MONITORING_SCHEMAS),
    CNPG_GROUP: ("cloudnative-pg", CNPG_SCHEMAS),
    KEDA_GROUP: ("keda", KEDA_SCHEMAS),
}

# The metric names of docs/metrics.md, plus Prometheus' own `up`.
DESIGN_METRICS = frozenset(
    {
        "datong_connector_records_total",
        "datong_ingest_requests_total",
        "datong_merge_events_total",
        "datong_event_to_view_seconds",
        "datong_view_freshness_seconds",
        "datong_consumer_lag",
        "datong_dlq_records_total",
        "up",
    }
)
HISTOGRAMS = frozenset({"datong_event_to_view_seconds", "datong_ingest_to_view_seconds"})
# Every metric docs/metrics.md lists (the page the code writes: a test keeps it current).
DOCUMENTED_METRICS = frozenset(
    re.findall(r"^\| `(\w+)` \|", (ROOT / "docs" / "metrics.md").read_text("utf-8"), re.M)
)
# What the broker-side lag exporter serves (kafka-exporter in compose, Strimzi's Kafka
# Exporter on Kubernetes: the same program).
EXPORTER_METRICS = frozenset({"kafka_consumergroup_lag"})


def load_yaml(path: Path) -> Any:
    """One YAML document."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty document of a multi-document YAML file."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def k8s_documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every Kubernetes object under ``deploy/k8s`` with the file it comes from."""
    for path in sorted(K8S_DIR.glob("*.yaml")):
        for doc in load_documents(path):
            yield path, doc


# `kubectl -n datong create secret generic|tls <name>` in deploy/README.md's runbook.
_CREATE_SECRET = re.compile(r"kubectl -n datong create secret (?:generic|tls) ([a-z0-9-]+)")


def documented_secrets() -> set[str]:
    """The Secrets deploy/README.md tells the operator to create, by name."""
    return set(_CREATE_SECRET.findall((DEPLOY / "README.md").read_text(encoding="utf-8")))


# Keys whose value names a Secret: Kubernetes' env references, the Prometheus Operator's
# credentials, CloudNativePG's role passwords.
_SECRET_REFERENCES = frozenset({"secretRef", "secretKeyRef", "credentials", "passwordSecret"})


def secret_names(node: Any) -> set[str]:
    """Every Secret a manifest refers to: env and envFrom, volumes, monitors' credentials,
    an Ingress's TLS, a database's role and backup credentials (found by the keys
    Kubernetes and the operators use for them)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _SECRET_REFERENCES and isinstance(value, dict):
                found.add(value["name"])
            elif key == "s3Credentials" and isinstance(value, dict):
                found |= {ref["name"] for ref in value.values() if isinstance(ref, dict)}
            elif key == "secret" and isinstance(value, dict):
                found.add(value.get("secretName") or value["name"])
            elif key == "tls" and isinstance(value, list):
                found |= {item["secretName"] for item in value if "secretName" in item}
            found |= secret_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= secret_names(item)
    return found


def errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    """Readable validation errors, empty when the instance is valid."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    ]


@cache
def compose_validator() -> Draft202012Validator:
    """The Compose Specification schema."""
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def crd_validator(api_version: str, kind: str) -> Draft202012Validator:
    """The vendored ``openAPIV3Schema`` of a custom resource (Strimzi, Prometheus Operator)."""
    folder, names = CRD_SCHEMAS[api_version.split("/", maxsplit=1)[0]]
    schema = json.loads((SCHEMAS / folder / names[(api_version, kind)]).read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _k8s_schema_dir(version: str) -> Any:
    return files("kubernetes_validate") / "kubernetes-json-schema" / f"v{version}-local-strict"


@cache
def _k8s_registry(version: str) -> Registry:
    definitions = json.loads((_k8s_schema_dir(version) / "_definitions.json").read_text())
    resource: Resource[Any] = Resource.from_contents(definitions)
    return resource @ Registry()


@cache
def k8s_validator(version: str, api_version: str, kind: str) -> Draft202012Validator:
    """The strict schema of a built-in Kubernetes kind, as ``kubernetes-validate`` names it."""
    # apps/v1 -> apps-v1, policy/v1 -> policy-v1, v1 -> v1 (core group).
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _k8s_schema_dir(version) / f"{kind.lower()}-{group_version}.json"
    if not path.is_file():
        raise LookupError(f"no Kubernetes {version} schema for {api_version} {kind}")
    return Draft202012Validator(json.loads(path.read_text()), registry=_k8s_registry(version))


def manifest_errors(doc: dict[str, Any], version: str) -> list[str]:
    """Schema errors of one manifest: Strimzi and Prometheus Operator kinds by the vendored
    CRD schemas, the rest by the Kubernetes schemas. A kind that has neither is an error,
    never a silent pass."""
    api_version, kind = str(doc.get("apiVersion")), str(doc.get("kind"))
    group = api_version.split("/", maxsplit=1)[0]
    if group in CRD_SCHEMAS:
        if (api_version, kind) not in CRD_SCHEMAS[group][1]:
            return [f"no vendored schema for {api_version} {kind}"]
        return errors(crd_validator(api_version, kind), doc)
    try:
        validator = k8s_validator(version, api_version, kind)
    except LookupError as exc:
        return [str(exc)]
    return errors(validator, doc)


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_VARIABLES = re.compile(r"\$\{?\w+\}?")
# Durations (5m, 1h30m) and numbers (0.99, 1e3).
_NUMBERS = re.compile(
    r"(?<![\w.])(?:\d+(?:ms|[smhdwy]))+(?!\w)|(?<![\w.])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
)
_CALL = re.compile(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(")
_IDENT = re.compile(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "inf", "nan"}
    | {"by", "without", "on", "ignoring", "group_left", "group_right"}
)


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (histogram series folded to their base).

    Strips strings, label matchers, ranges, grouping clauses, Grafana variables and
    numbers; what is left that is not a function call or an operator keyword is a metric.
    """
    text = _STRINGS.sub(" ", expr)
    for pattern in (_MATCHERS, _RANGES, _GROUPING, _VARIABLES, _NUMBERS):
        text = pattern.sub(" ", text)
    text = _CALL.sub("(", text)
    names = {name for name in _IDENT.findall(text) if name.lower() not in _KEYWORDS}
    return {_histogram_base(name) for name in names}


def _histogram_base(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        base = name.removesuffix(suffix)
        if base != name and base in HISTOGRAMS:
            return base
    return name
