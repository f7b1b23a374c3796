"""Settings built from an injected environment mapping."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from services.errors import ConfigError
from services.settings import Settings


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    """A DATONG_* environment whose var dir is ``tmp_path``; keyword names drop the prefix."""
    return {"DATONG_VAR_DIR": str(tmp_path), **{f"DATONG_{k}": v for k, v in values.items()}}


def test_defaults_use_sqlite_under_the_var_dir_and_the_embedded_broker(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert settings.var_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'datong.db'}"
    assert settings.kafka_bootstrap is None
    assert settings.embedded_broker
    assert settings.broker_port == 9092
    assert settings.bootstrap == "127.0.0.1:9092"
    assert settings.registry_url is None
    assert (settings.api_host, settings.api_port) == ("127.0.0.1", 8080)
    assert settings.worker_metrics_port == 9101
    assert settings.partitions == 4
    assert settings.consumer_group == "datong-merge"
    assert settings.batch_size == 1000
    assert (settings.fetch_wait_ms, settings.fold_interval_s) == (50, 0.5)
    assert settings.session_timeout_s == 10.0
    assert settings.policy_file is None  # the shipped example policy


def test_connectors_keep_their_state_under_the_var_dir_and_reach_the_api_registry(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(env(tmp_path, API_PORT="8181"))
    assert settings.connector_state_url == f"sqlite:///{tmp_path / 'connectors' / 'state.db'}"
    assert settings.checkpoint_dir == tmp_path / "connectors" / "checkpoints"
    assert settings.registry_http_url == "http://127.0.0.1:8181/registry"
    assert settings.registry_wait_s == 60.0


def test_connectors_take_their_own_state_store_and_an_external_registry(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(
            tmp_path,
            CONNECTOR_STATE_URL="postgresql+psycopg://connectors@db/connector_state",
            REGISTRY_URL="http://registry:8081",
            REGISTRY_WAIT_S="5",
        )
    )
    assert settings.connector_state_url == "postgresql+psycopg://connectors@db/connector_state"
    assert settings.registry_http_url == "http://registry:8081"
    assert settings.registry_wait_s == 5.0


def test_the_embedded_bootstrap_follows_the_broker_port(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, BROKER_PORT="19092"))
    assert settings.bootstrap == "127.0.0.1:19092"
    assert settings.embedded_broker


def test_every_setting_can_be_overridden(tmp_path: Path) -> None:
    hmac_key, seal_key = bytes(range(32)), bytes(range(100, 148))
    settings = Settings.from_env(
        env(
            tmp_path,
            KAFKA_BOOTSTRAP="kafka-1:9092,kafka-2:9092",
            DATABASE_URL="postgresql+psycopg://datong@db/datong",
            DATABASE_TLS="unchecked",
            REGISTRY_URL="http://registry:8081",
            HMAC_KEY=b64(hmac_key),
            SEAL_KEY=b64(seal_key),
            AUDIT_SIGNING_KEY=b64(seal_key),
            API_HOST="0.0.0.0",
            API_PORT="9000",
            BROKER_PORT="29092",
            WORKER_METRICS_PORT="9200",
            PARTITIONS="12",
            CONSUMER_GROUP="merge-b",
            BATCH_SIZE="50",
            FETCH_WAIT_MS="500",
            FOLD_INTERVAL_S="0.25",
            SESSION_TIMEOUT_S="30",
            POLICY_FILE="/etc/datong/sharing.yaml",
        )
    )
    assert settings.kafka_bootstrap == "kafka-1:9092,kafka-2:9092"
    assert not settings.embedded_broker
    assert settings.bootstrap == "kafka-1:9092,kafka-2:9092"
    assert settings.database_url == "postgresql+psycopg://datong@db/datong"
    assert settings.registry_url == "http://registry:8081"
    assert (settings.hmac_key, settings.seal_key) == (hmac_key, seal_key)
    assert settings.audit_signing_key() == seal_key
    assert (settings.api_host, settings.api_port) == ("0.0.0.0", 9000)
    assert (settings.broker_port, settings.worker_metrics_port) == (29092, 9200)
    assert (settings.partitions, settings.consumer_group) == (12, "merge-b")
    assert settings.batch_size == 50
    assert (settings.fetch_wait_ms, settings.fold_interval_s) == (500, 0.25)
    assert settings.session_timeout_s == 30.0
    assert settings.policy_file == Path("/etc/datong/sharing.yaml")
    assert not (tmp_path / "keys").exists()


def test_an_empty_variable_means_the_default(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, API_PORT="", KAFKA_BOOTSTRAP=""))
    assert settings.api_port == 8080
    assert settings.embedded_broker


def test_variables_without_the_prefix_are_ignored(tmp_path: Path) -> None:
    settings = Settings.from_env({**env(tmp_path), "API_PORT": "1", "KAFKA_BOOTSTRAP": "x:1"})
    assert settings.api_port == 8080
    assert settings.embedded_broker


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_PORT", "eighty"),
        ("BROKER_PORT", "9092.5"),
        ("PARTITIONS", "four"),
        ("BATCH_SIZE", "1e3"),
        ("WORKER_METRICS_PORT", "0x10"),
    ],
)
def test_a_bad_integer_is_a_config_error_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=f"DATONG_{name}"):
        Settings.from_env(env(tmp_path, **{name: value}))


@pytest.mark.parametrize("name", ["FOLD_INTERVAL_S", "SESSION_TIMEOUT_S"])
def test_a_bad_number_is_a_config_error_naming_the_variable(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=f"DATONG_{name}"):
        Settings.from_env(env(tmp_path, **{name: "soon"}))


@pytest.mark.parametrize("name", ["HMAC_KEY", "SEAL_KEY"])
def test_a_key_shorter_than_32_bytes_is_a_config_error(tmp_path: Path, name: str) -> None:
    short = b64(b"s" * 31)
    with pytest.raises(ConfigError, match=f"DATONG_{name}") as caught:
        Settings.from_env(env(tmp_path, **{name: short}))
    assert short not in str(caught.value)


@pytest.mark.parametrize("name", ["HMAC_KEY", "SEAL_KEY"])
def test_a_key_that_is_not_base64_is_a_config_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=f"DATONG_{name}") as caught:
        Settings.from_env(env(tmp_path, **{name: "not base64 at all!"}))
    assert "not base64 at all!" not in str(caught.value)


def test_a_key_of_exactly_32_bytes_is_accepted(tmp_path: Path) -> None:
    key = b"\x00" * 32
    assert Settings.from_env(env(tmp_path, HMAC_KEY=b64(key))).hmac_key == key


def test_an_unset_key_is_never_made_and_its_absence_says_what_to_provide(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(env(tmp_path))
    with pytest.raises(ConfigError, match="DATONG_HMAC_KEY_FILE=<file") as caught:
        _ = settings.hmac_key
    assert "ask the hub operator" in str(caught.value)
    with pytest.raises(ConfigError, match="DATONG_SEAL_KEY"):
        _ = settings.seal_key
    assert not (tmp_path / "keys").exists()


def test_a_key_is_read_from_the_file_a_setting_names(tmp_path: Path) -> None:
    key = bytes(range(32))
    (tmp_path / "hmac.key").write_text(b64(key) + "\n")
    settings = Settings.from_env(env(tmp_path, HMAC_KEY_FILE=str(tmp_path / "hmac.key")))
    assert settings.hmac_key == key


def test_a_key_file_that_is_missing_is_a_config_error_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DATONG_SEAL_KEY_FILE: cannot read"):
        Settings.from_env(env(tmp_path, SEAL_KEY_FILE=str(tmp_path / "absent")))


def test_a_key_given_twice_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "k").write_text(b64(b"k" * 32))
    with pytest.raises(ConfigError, match="both set"):
        Settings.from_env(env(tmp_path, HMAC_KEY=b64(b"k" * 32), HMAC_KEY_FILE=str(tmp_path / "k")))


def test_a_development_hub_generates_its_keys_once_under_the_var_dir(tmp_path: Path) -> None:
    first = Settings.from_env(env(tmp_path)).with_dev_keys()
    second = Settings.from_env(env(tmp_path))
    assert len(first.hmac_key) == 32
    assert len(first.seal_key) == 32
    assert second.hmac_key == first.hmac_key
    assert second.seal_key == first.seal_key
    assert first.hmac_key != first.seal_key
    assert base64.b64decode((tmp_path / "keys" / "hmac_key").read_text()) == first.hmac_key
    assert base64.b64decode((tmp_path / "keys" / "seal_key").read_text()) == first.seal_key


def test_generated_key_files_are_readable_only_by_the_owner(tmp_path: Path) -> None:
    Settings.from_env(env(tmp_path)).with_dev_keys()
    for name in ("hmac_key", "seal_key"):
        mode = stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode)
        assert mode == 0o600


def test_another_var_dir_generates_another_key(tmp_path: Path) -> None:
    one = Settings.from_env(env(tmp_path / "one")).with_dev_keys()
    two = Settings.from_env(env(tmp_path / "two")).with_dev_keys()
    assert one.hmac_key != two.hmac_key


def test_a_set_key_wins_over_a_generated_one(tmp_path: Path) -> None:
    generated = Settings.from_env(env(tmp_path)).with_dev_keys().hmac_key
    key = bytes(range(32))
    assert Settings.from_env(env(tmp_path, HMAC_KEY=b64(key))).with_dev_keys().hmac_key == key
    assert key != generated


def test_settings_are_frozen_and_overrides_make_a_copy(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    changed = settings.with_overrides(api_port=9999)
    assert (settings.api_port, changed.api_port) == (8080, 9999)
    with pytest.raises(AttributeError):
        settings.api_port = 1  # type: ignore[misc]


def test_keys_never_appear_in_the_settings_repr(tmp_path: Path) -> None:
    settings = Settings.from_env({"DATONG_VAR_DIR": str(tmp_path)}).with_dev_keys()
    assert base64.b64encode(settings.hmac_key).decode() not in repr(settings)
    assert "given_hmac_key" not in repr(settings) and "given_seal_key" not in repr(settings)


def test_sasl_and_tls_settings_become_kafka_client_options(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "DATONG_VAR_DIR": str(tmp_path),
            "DATONG_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "DATONG_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "DATONG_KAFKA_SASL_USERNAME": "datong",
            "DATONG_KAFKA_SASL_PASSWORD": "s3cret",
            "DATONG_KAFKA_SSL_CAFILE": "/etc/datong/ca.crt",
        }
    )
    assert settings.kafka_options() == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "datong",
        "sasl_plain_password": "s3cret",
        "ssl_cafile": "/etc/datong/ca.crt",
    }
    assert "s3cret" not in repr(settings)


def test_a_plaintext_cluster_needs_no_client_options(tmp_path: Path) -> None:
    assert Settings.from_env({"DATONG_VAR_DIR": str(tmp_path)}).kafka_options() == {}


def test_an_unknown_security_protocol_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DATONG_KAFKA_SECURITY_PROTOCOL"):
        Settings.from_env(
            {"DATONG_VAR_DIR": str(tmp_path), "DATONG_KAFKA_SECURITY_PROTOCOL": "TLS"}
        )


def test_subscriptions_beat_every_15_s_and_keep_1000_changes_per_view_by_default(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert (settings.subscribe_heartbeat_s, settings.subscribe_buffer) == (15.0, 1000)
    tuned = Settings.from_env(env(tmp_path, SUBSCRIBE_HEARTBEAT_S="0.5", SUBSCRIBE_BUFFER="20"))
    assert (tuned.subscribe_heartbeat_s, tuned.subscribe_buffer) == (0.5, 20)


def test_the_subscription_consumer_waits_50_ms_for_a_fetch_unless_told(tmp_path: Path) -> None:
    assert Settings.from_env(env(tmp_path)).subscribe_fetch_wait_ms == 50
    tuned = Settings.from_env(env(tmp_path, SUBSCRIBE_FETCH_WAIT_MS="20"))
    assert tuned.subscribe_fetch_wait_ms == 20


@pytest.mark.parametrize("value", ["fast", "20ms", "2.5", "1e2"])
def test_a_subscription_fetch_wait_that_is_not_an_integer_is_a_config_error(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ConfigError, match="DATONG_SUBSCRIBE_FETCH_WAIT_MS must be an integer"):
        Settings.from_env(env(tmp_path, SUBSCRIBE_FETCH_WAIT_MS=value))


@pytest.mark.parametrize(
    "name", ["SUBSCRIBE_HEARTBEAT_S", "SUBSCRIBE_BUFFER", "SUBSCRIBE_FETCH_WAIT_MS"]
)
def test_a_subscription_setting_of_zero_is_a_config_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=f"DATONG_{name} must be greater than 0"):
        Settings.from_env(env(tmp_path, **{name: "0"}))


def test_history_is_kept_400_days_and_dead_letters_30_by_default(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert settings.closed_alert_retention_days == 400
    assert settings.snapshot_retention_days == 400
    assert settings.dlq_retention_days == 30
    assert (settings.prune_interval_s, settings.prune_batch_size) == (600.0, 1000)
    tuned = Settings.from_env(
        env(tmp_path, CLOSED_ALERT_RETENTION_DAYS="90", SNAPSHOT_RETENTION_DAYS="60")
    )
    assert (tuned.closed_alert_retention_days, tuned.snapshot_retention_days) == (90, 60)


@pytest.mark.parametrize(
    "name",
    [
        "DLQ_RETENTION_DAYS",
        "CLOSED_ALERT_RETENTION_DAYS",
        "SNAPSHOT_RETENTION_DAYS",
        "PRUNE_INTERVAL_S",
        "PRUNE_BATCH_SIZE",
    ],
)
def test_a_retention_of_zero_is_a_config_error(tmp_path: Path, name: str) -> None:
    # Zero days would delete history as it is written.
    with pytest.raises(ConfigError, match=f"DATONG_{name} must be greater than 0"):
        Settings.from_env(env(tmp_path, **{name: "0"}))


def test_the_test_marks_are_off_unless_a_marks_file_is_named(tmp_path: Path) -> None:
    plain = Settings.from_env(env(tmp_path))
    assert (plain.test_marks, plain.test_halt) == (None, None)
    marked = Settings.from_env(env(tmp_path, TEST_MARKS="/tmp/marks", TEST_HALT="committed:3"))
    assert (marked.test_marks, marked.test_halt) == (Path("/tmp/marks"), ("committed", 3))


@pytest.mark.parametrize("halt", ["inside", "inside:0", "inside:x", "published:1"])
def test_a_halt_at_no_known_mark_is_a_config_error(tmp_path: Path, halt: str) -> None:
    with pytest.raises(ConfigError, match="DATONG_TEST_HALT must be <mark>:<n>"):
        Settings.from_env(env(tmp_path, TEST_MARKS="/tmp/marks", TEST_HALT=halt))


def test_a_halt_without_a_marks_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DATONG_TEST_HALT needs DATONG_TEST_MARKS"):
        Settings.from_env(env(tmp_path, TEST_HALT="inside:1"))


def test_topics_are_managed_on_the_embedded_broker_and_required_on_a_real_cluster(
    tmp_path: Path,
) -> None:
    assert Settings.from_env(env(tmp_path)).topics == "manage"
    assert Settings.from_env(env(tmp_path, KAFKA_BOOTSTRAP="kafka:9092")).topics == "require"
    managed = Settings.from_env(env(tmp_path, KAFKA_BOOTSTRAP="kafka:9092", TOPICS="manage"))
    assert managed.topics == "manage"


def test_an_unknown_topics_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DATONG_TOPICS must be one of manage, require"):
        Settings.from_env(env(tmp_path, TOPICS="create"))


def test_the_liveness_stall_defaults_to_five_minutes_and_must_be_positive(tmp_path: Path) -> None:
    assert Settings.from_env(env(tmp_path)).liveness_stall_s == 300.0
    assert Settings.from_env(env(tmp_path, LIVENESS_STALL_S="20")).liveness_stall_s == 20.0
    with pytest.raises(ConfigError, match="DATONG_LIVENESS_STALL_S must be greater than 0"):
        Settings.from_env(env(tmp_path, LIVENESS_STALL_S="0"))


def test_an_audit_export_off_a_development_hub_needs_the_signing_key_it_was_given(
    tmp_path: Path,
) -> None:
    production = Settings.from_env(env(tmp_path, KAFKA_BOOTSTRAP="kafka-1:9092"))
    with pytest.raises(ConfigError, match="no DATONG_AUDIT_SIGNING_KEY"):
        production.audit_signing_key()
    assert not (tmp_path / "keys" / "audit_signing_key").exists()
    key = tmp_path / "audit.key"
    key.write_text(b64(b"s" * 32))
    given = Settings.from_env(
        env(tmp_path, KAFKA_BOOTSTRAP="kafka-1:9092", AUDIT_SIGNING_KEY_FILE=str(key))
    )
    assert given.audit_signing_key() == b"s" * 32


PRODUCTION = "kafka-1:9092"
VERIFIED = "postgresql+psycopg://datong@db/datong?sslmode=verify-full&sslrootcert=/etc/ca.crt"


def test_metrics_are_open_on_the_embedded_broker_and_need_a_token_on_a_real_cluster(
    tmp_path: Path,
) -> None:
    assert Settings.from_env(env(tmp_path)).metrics_token is None
    token = "t" * 32
    given = Settings.from_env(env(tmp_path, KAFKA_BOOTSTRAP=PRODUCTION, METRICS_TOKEN=token))
    assert given.metrics_auth == "token"
    assert given.metrics_token == token
    assert token not in repr(given)
    opened = Settings.from_env(env(tmp_path, KAFKA_BOOTSTRAP=PRODUCTION, METRICS_AUTH="open"))
    assert opened.metrics_token is None


def test_a_production_process_without_the_metrics_token_is_told_how_to_give_it(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(env(tmp_path, KAFKA_BOOTSTRAP=PRODUCTION))
    with pytest.raises(ConfigError, match="DATONG_METRICS_TOKEN_FILE=<file holding it>"):
        _ = settings.metrics_token


def test_the_metrics_token_is_read_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-a-secret-file-0123\n")
    settings = Settings.from_env(
        env(tmp_path, METRICS_AUTH="token", METRICS_TOKEN_FILE=str(tmp_path / "token"))
    )
    assert settings.metrics_token == "from-a-secret-file-0123"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"METRICS_TOKEN": "short"}, "at least 16 characters"),
        ({"METRICS_TOKEN": "t" * 20, "METRICS_TOKEN_FILE": "/x"}, "both set"),
        ({"METRICS_TOKEN_FILE": "/nonexistent/token"}, "cannot read /nonexistent/token"),
        ({"METRICS_AUTH": "basic"}, "DATONG_METRICS_AUTH must be one of open, token"),
    ],
)
def test_a_bad_metrics_setting_is_refused_by_name(
    tmp_path: Path, values: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env(tmp_path, **values))


@pytest.mark.parametrize(
    ("name", "url", "given"),
    [
        ("DATABASE_URL", "postgresql+psycopg://datong@db/datong", "no sslmode"),
        ("DATABASE_URL", "postgresql+psycopg://datong@db/datong?sslmode=require", "require"),
        ("DATABASE_URL", "postgresql://datong@db/datong?sslmode=disable", "disable"),
        ("CONNECTOR_STATE_URL", "postgresql+psycopg://c@db/c?sslmode=verify-ca", "verify-ca"),
    ],
)
def test_a_production_hub_refuses_a_postgresql_url_that_does_not_verify_the_server(
    tmp_path: Path, name: str, url: str, given: str
) -> None:
    with pytest.raises(ConfigError, match=f"DATONG_{name} has .*{given}.*sslmode=verify-full"):
        Settings.from_env(env(tmp_path, KAFKA_BOOTSTRAP=PRODUCTION, **{name: url}))


def test_a_production_hub_takes_a_verified_postgresql_url_and_sqlite_files(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, KAFKA_BOOTSTRAP=PRODUCTION, DATABASE_URL=VERIFIED))
    assert settings.database_tls == "verify-full"
    assert settings.database_url == VERIFIED
    assert settings.connector_state_url.startswith("sqlite:///")  # a file: nothing to verify


def test_a_development_database_may_go_without_tls(tmp_path: Path) -> None:
    plain = "postgresql+psycopg://datong@localhost/datong"
    assert Settings.from_env(env(tmp_path, DATABASE_URL=plain)).database_tls == "unchecked"
    unchecked = Settings.from_env(
        env(tmp_path, KAFKA_BOOTSTRAP=PRODUCTION, DATABASE_URL=plain, DATABASE_TLS="unchecked")
    )
    assert unchecked.database_url == plain


def test_registry_credentials_are_basic_auth_kept_out_of_the_url(tmp_path: Path) -> None:
    assert Settings.from_env(env(tmp_path)).registry_auth is None
    settings = Settings.from_env(
        env(
            tmp_path,
            REGISTRY_URL="http://schema-registry:8081",
            REGISTRY_USERNAME="datong",
            REGISTRY_PASSWORD="registry-secret",
        )
    )
    assert settings.registry_auth == ("datong", "registry-secret")
    assert "registry-secret" not in repr(settings)
    assert "registry-secret" not in settings.registry_http_url


def test_the_feed_scorecards_settings_default_to_the_dashboard_audience_and_a_week(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert (settings.quality_audiences, settings.quality_days) == (("community-dashboard",), 7)
    assert settings.quality_metrics_port == 9103
    given = Settings.from_env(
        env(
            tmp_path,
            QUALITY_AUDIENCES=" hub-operator, community-dashboard ,,hub-operator",
            QUALITY_DAYS="14",
            QUALITY_METRICS_PORT="9200",
        )
    )
    assert given.quality_audiences == ("hub-operator", "community-dashboard")
    assert (given.quality_days, given.quality_metrics_port) == (14, 9200)
    with pytest.raises(ConfigError, match="DATONG_QUALITY_DAYS"):
        Settings.from_env(env(tmp_path, QUALITY_DAYS="0"))
