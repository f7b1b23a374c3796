"""Prometheus configuration, alert rules and Alertmanager: promtool accepts them, every
alert fires on its unit-test series and stays silent on the healthy ones, and both stacks
load the same rules, rendered from services/alert_rules.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from connectors.mappings import MAPPINGS
from services.alert_rules import JOBS
from services.deploy_manifests import render_alerts
from services.settings import Settings
from tests.support.manifests import (
    DEPLOY,
    DOCUMENTED_METRICS,
    EXPORTER_METRICS,
    K8S_DIR,
    load_yaml,
    metric_names,
)

PROMETHEUS = DEPLOY / "prometheus"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"
ALERTS = {
    "DatongProcessDown",
    "DatongNoLiveProcess",
    "DatongConsumerLagGrowing",
    "DatongBrokerLagGrowing",
    "DatongDepartmentFeedStale",
    "DatongDeadLetters",
    "DatongIngestToViewP99OverBudget",
    "DatongOutboxBacklog",
    "DatongMergeConflicts",
    "DatongHttpServerErrors",
    "DatongEmergencyOpen",
    "DatongSharingRequestsOverdue",
    "DatongAlertsOverdue",
}
# The committed files are rendered with the defaults: no DATONG_* variable set.
DEFAULTS = Settings.from_env({})


def _promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found: install the Debian package `prometheus` to run this")
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _rules() -> list[dict[str, Any]]:
    rules = load_yaml(PROMETHEUS / "alerts.yml")
    return [rule for group in rules["groups"] for rule in group["rules"]]


def _unit_tests() -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = load_yaml(PROMETHEUS / "alerts.test.yml")["tests"]
    return tests


def test_the_committed_rule_files_are_a_fresh_rendering() -> None:
    committed = (PROMETHEUS / "alerts.yml").read_text(encoding="utf-8")
    assert committed == render_alerts(DEFAULTS, "prometheus"), (
        "deploy/prometheus/alerts.yml is stale: `datong deploy render-alerts > "
        "deploy/prometheus/alerts.yml`"
    )
    committed = (K8S_DIR / "alerts.yaml").read_text(encoding="utf-8")
    assert committed == render_alerts(DEFAULTS, "k8s"), (
        "deploy/k8s/alerts.yaml is stale: `datong deploy render-alerts --format k8s > "
        "deploy/k8s/alerts.yaml`"
    )


def test_both_stacks_load_the_same_rules() -> None:
    rule = load_yaml(K8S_DIR / "alerts.yaml")
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == load_yaml(PROMETHEUS / "alerts.yml")["groups"]


def test_the_working_hours_and_consumer_group_come_from_settings() -> None:
    settings = Settings.from_env(
        {
            "DATONG_FEED_HOURS": "7-19",
            "DATONG_FEED_UTC_OFFSET_H": "-5",
            "DATONG_CONSUMER_GROUP": "city-merge",
        }
    )
    text = render_alerts(settings, "prometheus")
    assert "hour(vector(time() - 18000)) >= 7 < 19" in text
    assert 'kafka_consumergroup_lag{consumergroup="city-merge"}' in text


def test_promtool_accepts_the_alert_rules() -> None:
    result = _promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


# Where compose mounts the metrics token for Prometheus (a compose secret).
TOKEN_FILE = "/run/secrets/metrics_token"


def test_promtool_accepts_the_prometheus_config(tmp_path: Path) -> None:
    # promtool checks that the token file exists: a copy of the folder points at one here.
    config = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, config)
    (tmp_path / "metrics_token").write_text("a-token-for-promtool-only")
    text = (config / "prometheus.yml").read_text(encoding="utf-8")
    assert TOKEN_FILE in text
    (config / "prometheus.yml").write_text(
        text.replace(TOKEN_FILE, str(tmp_path / "metrics_token"))
    )
    result = _promtool("check", "config", "prometheus.yml", cwd=config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alerts.yml" in result.stdout, "the config must load the alert rules"


def test_alert_rules_fire_and_stay_silent_on_their_unit_test_series() -> None:
    result = _promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    text = (PROMETHEUS / "alerts.yml").read_text(encoding="utf-8")
    broken = text.replace("sum by (department, reason) (increase(", "sum by (department, reason (")
    assert broken != text
    (tmp_path / "alerts.yml").write_text(broken, encoding="utf-8")
    result = _promtool("check", "rules", "alerts.yml", cwd=tmp_path)
    assert result.returncode != 0


def test_promtool_notices_an_alert_that_does_not_fire(tmp_path: Path) -> None:
    text = (PROMETHEUS / "alerts.yml").read_text(encoding="utf-8")
    (tmp_path / "alerts.yml").write_text(text.replace("> 5000", "> 50000"), encoding="utf-8")
    shutil.copy(PROMETHEUS / "alerts.test.yml", tmp_path / "alerts.test.yml")
    result = _promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "DatongOutboxBacklog" in result.stdout + result.stderr


def test_every_alert_has_severity_and_summary() -> None:
    rules = _rules()
    assert {rule["alert"] for rule in rules} == ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for test in _unit_tests():
        for case in test["alert_rule_test"]:
            (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    assert firing == ALERTS, f"never seen firing: {sorted(ALERTS - firing)}"
    assert silent == ALERTS, f"never seen silent: {sorted(ALERTS - silent)}"


def test_every_process_kind_has_a_guard_for_none_at_all() -> None:
    tested = {
        alert["exp_labels"]["job"]
        for test in _unit_tests()
        for case in test["alert_rule_test"]
        if case["alertname"] == "DatongNoLiveProcess"
        for alert in case.get("exp_alerts", [])
    }
    guarded = {rule["labels"]["job"] for rule in _rules() if rule["alert"] == "DatongNoLiveProcess"}
    assert guarded == tested == set(JOBS)


def test_process_down_matches_the_job_names_of_both_stacks() -> None:
    (down,) = [rule for rule in _rules() if rule["alert"] == "DatongProcessDown"]
    matched = set(re.search(r'job=~"([^"]+)"', down["expr"])[1].split("|"))  # type: ignore[index]
    scraped = {
        job["job_name"] for job in load_yaml(PROMETHEUS / "prometheus.yml")["scrape_configs"]
    }
    assert matched == set(JOBS) <= scraped


def test_alert_rules_use_only_documented_metrics() -> None:
    known = DOCUMENTED_METRICS | EXPORTER_METRICS | {"up"}
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= known, f"{rule['alert']}: {sorted(names - known)}"


def test_metric_name_check_notices_a_foreign_metric() -> None:
    expr = 'sum(rate(kafka_consumergroup_lag{group="x"}[5m])) by (topic) and up == 0'
    assert metric_names(expr) == {"kafka_consumergroup_lag", "up"}


def test_prometheus_scrapes_every_datong_process_and_the_lag_exporter() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(JOBS) <= set(jobs)
    targets = {t for c in jobs["datong-connector"]["static_configs"] for t in c["targets"]}
    assert targets == {f"connector-{department}:9102" for department in MAPPINGS}
    assert jobs["kafka-exporter"]["static_configs"] == [{"targets": ["kafka-exporter:9308"]}]


def test_prometheus_sends_alerts_to_the_compose_alertmanager() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    (manager,) = config["alerting"]["alertmanagers"]
    assert manager["static_configs"] == [{"targets": ["alertmanager:9093"]}]


def test_alertmanager_routes_every_alert_to_a_declared_receiver() -> None:
    config = load_yaml(ALERTMANAGER)
    receivers = {receiver["name"] for receiver in config["receivers"]}
    routes = [config["route"], *config["route"].get("routes", [])]
    assert {route["receiver"] for route in routes} <= receivers
    (oncall,) = config["receivers"]
    assert oncall["webhook_configs"][0]["send_resolved"] is True
    for rule in config.get("inhibit_rules", []):
        names = {m.split("=", 1)[1].strip('"') for m in rule["source_matchers"]}
        names |= {m.split("=", 1)[1].strip('"') for m in rule["target_matchers"]}
        assert names <= ALERTS, names
