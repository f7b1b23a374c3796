"""The Grafana dashboard and its provisioning."""

from __future__ import annotations

import json
from typing import Any

from tests.support.manifests import (
    DEPLOY,
    DESIGN_METRICS,
    DOCUMENTED_METRICS,
    EXPORTER_METRICS,
    load_yaml,
    metric_names,
)

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "datong.json"


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def _targets() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in _dashboard()["panels"]
        for target in panel.get("targets", [])
    ]


def test_dashboard_is_a_grafana_dashboard_with_unique_panels() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]


def test_panels_query_only_documented_metrics() -> None:
    known = DOCUMENTED_METRICS | EXPORTER_METRICS | {"up"}
    assert _targets()
    for title, expr in _targets():
        names = metric_names(expr)
        assert names, title
        assert names <= known, f"{title}: {sorted(names - known)}"


def test_dashboard_shows_every_design_metric_and_every_metric_an_alert_reads() -> None:
    shown = set().union(*(metric_names(expr) for _, expr in _targets()))
    rules = load_yaml(DEPLOY / "prometheus" / "alerts.yml")["groups"][0]["rules"]
    alerted = set().union(*(metric_names(rule["expr"]) for rule in rules))
    assert shown >= DESIGN_METRICS
    assert alerted <= shown, sorted(alerted - shown)


def test_dashboard_uses_the_provisioned_datasource() -> None:
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yaml")
    (prometheus,) = datasources["datasources"]
    assert prometheus["type"] == "prometheus"
    assert prometheus["url"] == "http://prometheus:9090"
    for panel in _dashboard()["panels"]:
        if panel.get("targets"):
            assert panel["datasource"] == {"type": "prometheus", "uid": prometheus["uid"]}


def test_dashboard_provider_points_at_the_mounted_folder() -> None:
    providers = load_yaml(GRAFANA / "provisioning" / "dashboards" / "datong.yaml")
    (provider,) = providers["providers"]
    grafana = load_yaml(DEPLOY / "compose.yaml")["services"]["grafana"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
