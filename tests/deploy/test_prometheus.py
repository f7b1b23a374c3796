"""Prometheus configuration and alert rules: promtool accepts them, and the rules fire."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from connectors.mappings import MAPPINGS
from tests.support.manifests import DEPLOY, DESIGN_METRICS, load_yaml, metric_names

PROMETHEUS = DEPLOY / "prometheus"
ALERTS = {
    "DatongProcessDown",
    "DatongConsumerLagGrowing",
    "DatongDepartmentFeedStale",
    "DatongDeadLettersGrowing",
    "DatongEventToViewP99OverBudget",
}


def _promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install the Debian package `prometheus`")
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _rule_exprs() -> dict[str, str]:
    rules = load_yaml(PROMETHEUS / "alerts.yml")
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def test_promtool_accepts_the_alert_rules() -> None:
    result = _promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_prometheus_config() -> None:
    result = _promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alerts.yml" in result.stdout, "the config must load the alert rules"


def test_alert_rules_fire_on_their_unit_test_series() -> None:
    result = _promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    text = (PROMETHEUS / "alerts.yml").read_text(encoding="utf-8")
    broken = text.replace("sum by (department, reason) (increase(", "sum by (department, reason (")
    assert broken != text
    (tmp_path / "alerts.yml").write_text(broken, encoding="utf-8")
    result = _promtool("check", "rules", "alerts.yml", cwd=tmp_path)
    assert result.returncode != 0


def test_the_five_operator_alerts_exist_with_severity_and_summary() -> None:
    rules = load_yaml(PROMETHEUS / "alerts.yml")
    found = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in found} == ALERTS
    for rule in found:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
    tested = re.findall(r"alertname: (\w+)", (PROMETHEUS / "alerts.test.yml").read_text())
    assert set(tested) == ALERTS, "every alert needs a promtool unit test"


def test_alert_rules_use_only_design_metrics() -> None:
    for alert, expr in _rule_exprs().items():
        names = metric_names(expr)
        assert names, alert
        assert names <= DESIGN_METRICS, f"{alert}: {sorted(names - DESIGN_METRICS)}"


def test_metric_name_check_notices_a_foreign_metric() -> None:
    expr = 'sum(rate(kafka_consumergroup_lag{group="x"}[5m])) by (topic) and up == 0'
    assert metric_names(expr) == {"kafka_consumergroup_lag", "up"}


def test_prometheus_scrapes_every_datong_process() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"datong-api", "datong-worker", "datong-connector"} <= set(jobs)
    assert all(name.startswith("datong-") for name in jobs if name != "prometheus")
    targets = {t for c in jobs["datong-connector"]["static_configs"] for t in c["targets"]}
    assert targets == {f"connector-{department}:9102" for department in MAPPINGS}
