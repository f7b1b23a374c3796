"""deploy/compose.yaml: valid under the Compose Specification, and the stack it describes."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from connectors.mappings import MAPPINGS
from services.deploy_manifests import DEFAULT_PARTITIONS, DEFAULT_REPLICAS, MIN_INSYNC_REPLICAS
from tests.support.manifests import DEPLOY, ROOT, compose_validator, errors, load_yaml

COMPOSE = DEPLOY / "compose.yaml"
DATONG_SETTINGS = (
    "DATONG_KAFKA_BOOTSTRAP",
    "DATONG_REGISTRY_URL",
    "DATONG_HMAC_KEY",
    "DATONG_SEAL_KEY",
    "DATONG_API_HOST",
    "DATONG_API_PORT",
    "DATONG_WORKER_METRICS_PORT",
    "DATONG_PARTITIONS",
    "DATONG_CONSUMER_GROUP",
    "DATONG_VAR_DIR",
    "DATONG_DLQ_RETENTION_DAYS",
    "DATONG_CLOSED_ALERT_RETENTION_DAYS",
    "DATONG_SNAPSHOT_RETENTION_DAYS",
    "DATONG_FEED_CADENCE",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _brokers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in _services(compose).items()
        if str(svc.get("image", "")).startswith("apache/kafka") and name != "kafka-topics"
    }


def _datong(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in _services(compose).items()
        if str(svc.get("image", "")).startswith("datong:")
    }


def _connectors(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in _datong(compose).items()
        if svc.get("command", [])[:2] == ["connector", "run"]
    }


def test_compose_file_is_valid_under_the_compose_specification(compose: dict[str, Any]) -> None:
    assert errors(compose_validator(), compose) == []


def test_compose_validator_rejects_a_broken_copy(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["helthcheck"] = {"test": ["CMD", "true"]}
    broken["services"]["worker"]["depends_on"]["postgres"]["condition"] = "service_ready"
    found = errors(compose_validator(), broken)
    assert any("helthcheck" in e for e in found), found
    assert any(e.startswith("services/worker/depends_on") for e in found), found


def test_kafka_is_a_three_node_kraft_cluster_with_replication_three(
    compose: dict[str, Any],
) -> None:
    brokers = _brokers(compose)
    assert len(brokers) == 3
    node_ids = set()
    for name, svc in brokers.items():
        env = svc["environment"]
        node_ids.add(int(env["KAFKA_NODE_ID"]))
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert sorted(v.split("@")[1].split(":")[0] for v in voters) == sorted(brokers)
        assert name in env["KAFKA_ADVERTISED_LISTENERS"]
        assert int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == DEFAULT_REPLICAS
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == MIN_INSYNC_REPLICAS
        assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == DEFAULT_REPLICAS
        assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]) == "false"
        assert "zookeeper" not in str(env).lower()
    assert node_ids == {1, 2, 3}


def test_stack_has_registry_database_monitoring_and_datong_processes(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    images = {name: str(svc.get("image", "")) for name, svc in services.items()}
    assert images["schema-registry"].startswith(
        ("confluentinc/cp-schema-registry:", "ghcr.io/aiven-open/karapace:")
    )
    assert images["postgres"].startswith("postgres:")
    assert images["prometheus"].startswith("prom/prometheus:")
    assert images["grafana"].startswith("grafana/grafana:")
    commands = {name: svc.get("command", []) for name, svc in _datong(compose).items()}
    assert commands["api"] == ["api"]
    assert commands["worker"] == ["worker"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    connectors = [c for c in commands.values() if c[:2] == ["connector", "run"]]
    # A connector only for each department that has a mapping, each watching its drop folder.
    assert sorted(c[2] for c in connectors) == sorted(MAPPINGS)
    for command in connectors:
        assert "--watch" in command and "--source" in command, command


def test_connectors_start_after_their_drop_folders_exist(compose: dict[str, Any]) -> None:
    services = _services(compose)
    created = set(services["drop-folders"]["command"])
    assert services["drop-folders"]["restart"] == "no"
    for name, svc in _datong(compose).items():
        command = svc.get("command", [])
        if command[:2] != ["connector", "run"]:
            continue
        source = command[command.index("--source") + 1]
        default = re.fullmatch(r"\$\{DATONG_SOURCE_\w+:-file://([^}?]+)(\?[^}]*)?\}", source)
        assert default, f"{name}: --source {source}"
        assert default.group(1) in created, f"{name}: drop-folders does not create its folder"
        condition = svc["depends_on"]["drop-folders"]["condition"]
        assert condition == "service_completed_successfully", name


def test_every_department_has_a_drop_folder_and_housing_starts_first(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    created = set(services["drop-folders"]["command"])
    assert created == {f"/srv/datong/drop/{department}" for department in MAPPINGS}
    # The housing export builds the gazetteer: the other connectors start after it, but only
    # after it has started, never waiting on its health (unresolved addresses are parked).
    assert "connector-housing" not in services["connector-housing"]["depends_on"]
    for department in set(MAPPINGS) - {"housing"}:
        depends = services[f"connector-{department}"]["depends_on"]
        assert depends["connector-housing"] == {"condition": "service_started"}, department


def test_connectors_get_the_registry_and_a_state_volume_but_no_database_secret(
    compose: dict[str, Any],
) -> None:
    connectors = _connectors(compose)
    assert sorted(connectors) == sorted(f"connector-{d}" for d in MAPPINGS)
    listener = _services(compose)["schema-registry"]["environment"]["SCHEMA_REGISTRY_LISTENERS"]
    registry = "http://schema-registry:" + listener.rsplit(":", 1)[1]
    for name, svc in connectors.items():
        env = svc["environment"]
        assert "DATONG_DATABASE_URL" not in env, name
        assert not any("POSTGRES_PASSWORD" in str(value) for value in env.values()), name
        assert "postgres" not in svc["depends_on"], name
        # Schema ids are looked up in the registry, once schemas-register has filled it.
        assert env["DATONG_REGISTRY_URL"] == registry, name
        registered = svc["depends_on"]["schemas-register"]["condition"]
        assert registered == "service_completed_successfully", name
        # Their state (one SQLite file every connector shares) lives on a volume.
        state = env["DATONG_CONNECTOR_STATE_URL"].removeprefix("sqlite:///")
        mounts = {target: source for source, target, *_ in (v.split(":") for v in svc["volumes"])}
        assert any(state.startswith(path + "/") for path in mounts), (name, state)
        assert mounts.get("/var/lib/datong") == "connector-state", name
    assert "connector-state" in compose["volumes"]


def test_only_the_api_gets_the_ingest_tokens_from_the_environment(
    compose: dict[str, Any],
) -> None:
    for name, svc in _datong(compose).items():
        tokens = svc["environment"].get("DATONG_INGEST_TOKENS")
        if name == "api":
            assert tokens == "${DATONG_INGEST_TOKENS:-}"
        else:
            assert tokens is None, name
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^DATONG_INGEST_TOKENS=$", example, re.MULTILINE)


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, svc in _services(compose).items():
        if svc.get("restart") == "no":
            continue  # one-shot jobs: others wait for them to complete successfully
        check = svc.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"


def test_datong_services_get_every_setting_and_one_image(compose: dict[str, Any]) -> None:
    for name, svc in _datong(compose).items():
        env = svc["environment"]
        missing = [key for key in DATONG_SETTINGS if key not in env]
        assert not missing, f"{name} lacks {missing}"
        if name not in _connectors(compose):
            assert env["DATONG_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        assert int(env["DATONG_PARTITIONS"]) == DEFAULT_PARTITIONS
        assert svc["build"] == {"context": "..", "dockerfile": "deploy/docker/Dockerfile"}
    assert len({svc["image"] for svc in _datong(compose).values()}) == 1


def test_the_hubs_dead_letter_days_match_the_topics_the_stack_creates(
    compose: dict[str, Any],
) -> None:
    script = (DEPLOY / "kafka" / "create-topics.sh").read_text(encoding="utf-8")
    retentions = set(re.findall(r"create dlq\.\S+ .*--config retention\.ms=(\d+)", script))
    days = {
        int(svc["environment"]["DATONG_DLQ_RETENTION_DAYS"]) for svc in _datong(compose).values()
    }
    assert retentions == {str(day * 24 * 3600 * 1000) for day in days}
    assert days == {30}


def test_secrets_are_required_from_the_environment_not_written_in(
    compose: dict[str, Any],
) -> None:
    for name, svc in _datong(compose).items():
        for key in ("DATONG_HMAC_KEY", "DATONG_SEAL_KEY"):
            assert re.fullmatch(r"\$\{" + key + r":\?[^}]+\}", svc["environment"][key]), name
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    for key in (
        "POSTGRES_PASSWORD",
        "DATONG_HMAC_KEY",
        "DATONG_SEAL_KEY",
        "GRAFANA_ADMIN_PASSWORD",
    ):
        assert re.search(rf"^{key}=", example, re.MULTILINE), key


def test_broker_side_lag_and_alert_routing_run_beside_prometheus(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    exporter = services["kafka-exporter"]
    assert exporter["image"].startswith("danielqsj/kafka-exporter:")
    servers = {a.split("=", 1)[1] for a in exporter["command"] if a.startswith("--kafka.server=")}
    assert servers == set(_env(compose)["DATONG_KAFKA_BOOTSTRAP"].split(","))
    alertmanager = services["alertmanager"]
    assert alertmanager["image"].startswith("prom/alertmanager:")
    assert "./alertmanager:/etc/alertmanager:ro" in alertmanager["volumes"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    assert "alertmanager" in services["prometheus"]["depends_on"]


def _env(compose: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = _services(compose)["worker"]["environment"]
    return env


def test_files_mounted_into_the_stack_exist(compose: dict[str, Any]) -> None:
    for name, svc in _services(compose).items():
        for volume in svc.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"


def test_dockerfile_builds_one_datong_image_from_python_slim() -> None:
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert re.search(r"^RUN pip install \.", dockerfile, re.MULTILINE)
    # An init as PID 1 (tini, from Debian) forwards SIGTERM to datong and reaps children.
    assert re.search(r"^ && apt-get install .*\btini\b", dockerfile, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["tini", "--", "datong"\]', dockerfile, re.MULTILINE)
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE)
    for copied in re.findall(r"^COPY (\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / copied).exists() or copied == "README.md", copied


def test_datong_processes_require_the_metrics_token_that_prometheus_sends(
    compose: dict[str, Any],
) -> None:
    for name, svc in _datong(compose).items():
        env = svc["environment"]
        assert env["DATONG_METRICS_AUTH"] == "token", name
        assert re.fullmatch(r"\$\{DATONG_METRICS_TOKEN:\?[^}]+\}", env["DATONG_METRICS_TOKEN"])
    assert compose["secrets"]["metrics_token"] == {"environment": "DATONG_METRICS_TOKEN"}
    assert "metrics_token" in _services(compose)["prometheus"]["secrets"]
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    datong_jobs = [j for j in config["scrape_configs"] if j["job_name"].startswith("datong-")]
    assert len(datong_jobs) == 4  # api, worker, quality, connectors
    for job in datong_jobs:
        auth = job["authorization"]
        assert auth == {"type": "Bearer", "credentials_file": "/run/secrets/metrics_token"}
    assert re.search(r"^DATONG_METRICS_TOKEN=", (DEPLOY / ".env.example").read_text(), re.M)


def test_the_hub_reaches_postgresql_over_tls_that_verifies_the_server(
    compose: dict[str, Any],
) -> None:
    for name, svc in _datong(compose).items():
        if name in _connectors(compose):
            continue  # their state is a SQLite file on their own volume
        env = svc["environment"]
        assert env["DATONG_DATABASE_TLS"] == "verify-full", name
        assert (
            "sslmode=verify-full&sslrootcert=/run/secrets/postgres_ca" in env["DATONG_DATABASE_URL"]
        ), name
        assert "postgres_ca" in svc["secrets"], name
    postgres = _services(compose)["postgres"]
    assert "ssl=on" in postgres["command"]
    assert {"postgres_cert", "postgres_key"} <= set(postgres["secrets"])
    files = {name: spec["file"] for name, spec in compose["secrets"].items() if "file" in spec}
    assert all(path.startswith("./certs/") for path in files.values())
    assert "certs/" in (DEPLOY / ".gitignore").read_text().split()


def test_prometheus_cannot_be_shut_down_over_http_and_kafka_has_no_default_cluster_id(
    compose: dict[str, Any],
) -> None:
    assert "--web.enable-lifecycle" not in _services(compose)["prometheus"]["command"]
    cluster_id = _services(compose)["kafka-1"]["environment"]["CLUSTER_ID"]
    assert re.fullmatch(r"\$\{KAFKA_CLUSTER_ID:\?[^}]+\}", cluster_id)
    assert re.search(r"^KAFKA_CLUSTER_ID=", (DEPLOY / ".env.example").read_text(), re.M)
