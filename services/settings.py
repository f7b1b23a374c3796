"""One frozen settings object per process, read from ``DATONG_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from services.errors import ConfigError
from services.feed_schedule import FeedSchedule, parse_schedule

# The parsers and the key readers keep short private names here, so that each field of
# from_env reads on a line or two.
from services.hub_keys import audit_signing_key as _audit_signing_key
from services.hub_keys import generated_key as _generated_key
from services.hub_keys import missing_key as _missing_key
from services.hub_keys import read_key as _key
from services.setting_defaults import (
    DATABASE_TLS_UNCHECKED,
    DEFAULT_DLQ_RETENTION_DAYS,
    DEFAULT_FETCH_WAIT_MS,
    DEFAULT_HISTORY_RETENTION_DAYS,
    DEFAULT_LIVENESS_STALL_S,
    DEFAULT_MIN_SHOWN_COUNT,
    DEFAULT_SUBSCRIBE_FETCH_WAIT_MS,
    METRICS_OPEN,
    TOPICS_MANAGE,
)
from services.setting_defaults import (
    DEFAULT_ALERT_RESPONSE_HOURS as ALERT_RESPONSE_HOURS,
)
from services.setting_values import PREFIX as _PREFIX
from services.setting_values import choice as _choice
from services.setting_values import database_tls as _database_tls
from services.setting_values import days as _days
from services.setting_values import halt as _halt
from services.setting_values import integer as _int
from services.setting_values import metrics_auth as _metrics_auth
from services.setting_values import metrics_token as _metrics_token
from services.setting_values import names as _names
from services.setting_values import number as _float
from services.setting_values import optional_hours as _hours
from services.setting_values import optional_path as _path
from services.setting_values import positive_integer as _positive_int
from services.setting_values import positive_number as _positive_float
from services.setting_values import required_metrics_token as _required_metrics_token
from services.setting_values import response_hours as _response_hours
from services.setting_values import token_hashes as _token_hashes
from services.setting_values import topics_mode as _topics


@dataclass(frozen=True)
class Settings:
    """Everything a datong process is configured with; unset means the embedded default."""

    var_dir: Path
    kafka_bootstrap: str | None
    database_url: str
    registry_url: str | None
    connector_state_url: str = field(repr=False)  # a URL may carry a password
    # None: not given. Read through ``hmac_key``/``seal_key``, which say what to provide.
    given_hmac_key: bytes | None = field(repr=False)
    given_seal_key: bytes | None = field(repr=False)
    api_host: str
    api_port: int
    broker_port: int
    worker_metrics_port: int
    connector_metrics_port: int
    partitions: int
    consumer_group: str
    batch_size: int
    session_timeout_s: float
    fetch_wait_ms: int = DEFAULT_FETCH_WAIT_MS
    fold_interval_s: float = 0.5
    subscribe_heartbeat_s: float = 15.0
    subscribe_buffer: int = 1000
    subscribe_fetch_wait_ms: int = DEFAULT_SUBSCRIBE_FETCH_WAIT_MS
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = field(default=None, repr=False)
    kafka_ssl_cafile: str | None = None
    ingest_tokens: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    ingest_max_body_bytes: int = 1 << 20
    ingest_max_records: int = 1000
    # Resident lookups by ID number per token and minute, per API process (each tests a guess).
    lookup_per_minute: int = 30
    policy_file: Path | None = None  # None: the shipped example policy
    # The operator's holiday notices (services/access/holiday_calendar.py); None: the package's.
    holiday_calendar: Path | None = None
    min_shown_count: int = DEFAULT_MIN_SHOWN_COUNT  # DATONG_MIN_SHOWN_COUNT
    epidemic_test_window_h: int | None = None  # DATONG_EPIDEMIC_TEST_WINDOW_HOURS; None: off
    # The public release (services/access/public_release.py): k, the rounding base, the
    # hours between releases, and requests a minute per client address.
    public_min_count: int = 10
    public_round_base: int = 5
    public_release_hours: int = 6
    public_per_minute: int = 60
    registry_wait_s: float = 60.0
    dlq_retention_days: int = DEFAULT_DLQ_RETENTION_DAYS
    closed_alert_retention_days: int = DEFAULT_HISTORY_RETENTION_DAYS
    # Hours by alert type a visit has to close an alert in (DATONG_ALERT_RESPONSE_HOURS).
    # Compared, not hashed: a dict cannot be, and the other fields tell settings apart.
    alert_response_hours: Mapping[str, int] = field(
        default_factory=ALERT_RESPONSE_HOURS.copy, hash=False
    )
    snapshot_retention_days: int = DEFAULT_HISTORY_RETENTION_DAYS
    prune_interval_s: float = 600.0
    prune_batch_size: int = 1000
    # Test-only: where a merge worker writes its marks (services/merge/marks.py), and the
    # mark it halts at, so that the fault tests kill it at a known point. Off when unset.
    test_marks: Path | None = None
    test_halt: tuple[str, int] | None = None
    feed_schedule: FeedSchedule = field(default_factory=FeedSchedule)
    freshness_interval_s: float = 30.0
    # Signs audit exports: DATONG_AUDIT_SIGNING_KEY as given (``audit_signing_key()``).
    audit_signing_key_text: str | None = field(default=None, repr=False)
    audit_signing_key_file: str | None = None  # DATONG_AUDIT_SIGNING_KEY_FILE

    def audit_signing_key(self) -> bytes:
        """The audit exports' Ed25519 seed (``hub_keys.audit_signing_key``): generated only on
        embedded defaults (a development hub)."""
        return _audit_signing_key(
            self.audit_signing_key_text,
            self.audit_signing_key_file,
            self.var_dir,
            development=self.embedded_broker,
        )

    mappings_dir: Path | None = None  # None: the shipped mappings (connectors/mappings/)
    # The hub's key check values (``datong keys check-value``): a connector refuses a key
    # that does not give them, before it publishes anything.
    hmac_key_check: str | None = None
    seal_key_check: str | None = None

    @property
    def hmac_key(self) -> bytes:
        """The hub's HMAC key (person_key); ConfigError saying how to give it when unset."""
        if self.given_hmac_key is None:
            raise ConfigError(_missing_key("HMAC_KEY", "person_keys", self.var_dir))
        return self.given_hmac_key

    @property
    def seal_key(self) -> bytes:
        """The hub's seal key (dead letters); ConfigError saying how to give it when unset."""
        if self.given_seal_key is None:
            raise ConfigError(_missing_key("SEAL_KEY", "dead letters", self.var_dir))
        return self.given_seal_key

    def with_dev_keys(self) -> Settings:
        """A copy whose missing keys are generated once under ``var/keys/`` (a development
        hub on embedded defaults only: a connector or an operator's tool never makes a key,
        since person_keys under another key would be silently wrong data)."""
        return replace(
            self,
            given_hmac_key=self.given_hmac_key or _generated_key("HMAC_KEY", self.var_dir),
            given_seal_key=self.given_seal_key or _generated_key("SEAL_KEY", self.var_dir),
        )

    topics: str = TOPICS_MANAGE
    liveness_stall_s: float = DEFAULT_LIVENESS_STALL_S
    metrics_auth: str = METRICS_OPEN
    given_metrics_token: str | None = field(default=None, repr=False)
    database_tls: str = DATABASE_TLS_UNCHECKED
    registry_username: str | None = None
    registry_password: str | None = field(default=None, repr=False)
    # The feed quality consumer's /metrics port; the audiences that read every department's
    # scorecard (a department's token reads its own); how many days a scorecard shows.
    quality_metrics_port: int = 9103
    quality_audiences: tuple[str, ...] = ("community-dashboard",)
    quality_days: int = 7

    @property
    def registry_auth(self) -> tuple[str, str] | None:
        """HTTP basic credentials for DATONG_REGISTRY_URL, when the registry needs them."""
        if self.registry_username is None:
            return None
        return self.registry_username, self.registry_password or ""

    @property
    def metrics_token(self) -> str | None:
        """The bearer token ``/metrics`` requires, or None when it is open
        (``DATONG_METRICS_AUTH=open``); ConfigError saying what to give when it is required
        and unset, so that a production process never serves its metrics to anyone."""
        return _required_metrics_token(self.metrics_auth, self.given_metrics_token)

    @property
    def checkpoint_dir(self) -> Path:
        """Where connectors keep their checkpoints: one JSON file per department."""
        return self.var_dir / "connectors" / "checkpoints"

    @property
    def ledger_path(self) -> Path:
        """The connectors' ledger of operator actions (resets, replays)."""
        return self.var_dir / "connectors" / "ledger.jsonl"

    @property
    def registry_http_url(self) -> str:
        """The registry reached over HTTP: DATONG_REGISTRY_URL, else the hub API's own."""
        return self.registry_url or f"http://{self.api_host}:{self.api_port}/registry"

    @property
    def embedded_broker(self) -> bool:
        """True when no external Kafka is configured and datong starts its own broker."""
        return self.kafka_bootstrap is None

    @property
    def bootstrap(self) -> str:
        """The Kafka bootstrap address to connect to (the embedded broker's when unset)."""
        return self.kafka_bootstrap or f"127.0.0.1:{self.broker_port}"

    def kafka_options(self) -> dict[str, Any]:
        """SASL/TLS options for kafka-python clients (empty on a plaintext cluster)."""
        options: dict[str, Any] = {}
        if self.kafka_security_protocol != "PLAINTEXT":
            options["security_protocol"] = self.kafka_security_protocol
        if self.kafka_sasl_mechanism:
            options.update(
                sasl_mechanism=self.kafka_sasl_mechanism,
                sasl_plain_username=self.kafka_sasl_username,
                sasl_plain_password=self.kafka_sasl_password,
            )
        if self.kafka_ssl_cafile:
            options["ssl_cafile"] = self.kafka_ssl_cafile
        return options

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (used by the CLI for command-line flags)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (``os.environ`` when omitted)."""
        env = dict(os.environ if environ is None else environ)

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(_PREFIX + name)
            return value if value not in (None, "") else default

        var_dir = Path(get("VAR_DIR", "var") or "var")
        if get("TEST_HALT") and not get("TEST_MARKS"):
            # A halt nobody can see would leave a test waiting for a mark never written.
            raise ConfigError(f"{_PREFIX}TEST_HALT needs {_PREFIX}TEST_MARKS (the marks file)")
        bootstrap = get("KAFKA_BOOTSTRAP")
        database_url = get("DATABASE_URL") or f"sqlite:///{var_dir / 'datong.db'}"
        state_file = var_dir / "connectors" / "state.db"
        state_url = get("CONNECTOR_STATE_URL") or f"sqlite:///{state_file}"
        production = bootstrap is not None
        database_tls = _database_tls(get("DATABASE_TLS"), production, database_url, state_url)
        return cls(
            var_dir=var_dir,
            kafka_bootstrap=bootstrap,
            database_url=database_url,
            registry_url=get("REGISTRY_URL"),
            connector_state_url=state_url,
            given_hmac_key=_key(get("HMAC_KEY"), get("HMAC_KEY_FILE"), "HMAC_KEY", var_dir),
            given_seal_key=_key(get("SEAL_KEY"), get("SEAL_KEY_FILE"), "SEAL_KEY", var_dir),
            audit_signing_key_text=get("AUDIT_SIGNING_KEY"),
            audit_signing_key_file=get("AUDIT_SIGNING_KEY_FILE"),
            api_host=get("API_HOST", "127.0.0.1") or "127.0.0.1",
            api_port=_int(get("API_PORT", "8080"), "API_PORT"),
            broker_port=_int(get("BROKER_PORT", "9092"), "BROKER_PORT"),
            worker_metrics_port=_int(get("WORKER_METRICS_PORT", "9101"), "WORKER_METRICS_PORT"),
            connector_metrics_port=_int(
                get("CONNECTOR_METRICS_PORT", "9102"), "CONNECTOR_METRICS_PORT"
            ),
            partitions=_int(get("PARTITIONS", "4"), "PARTITIONS"),
            consumer_group=get("CONSUMER_GROUP", "datong-merge") or "datong-merge",
            batch_size=_int(get("BATCH_SIZE", "1000"), "BATCH_SIZE"),
            session_timeout_s=_float(get("SESSION_TIMEOUT_S", "10"), "SESSION_TIMEOUT_S"),
            fetch_wait_ms=_positive_int(get, "FETCH_WAIT_MS", DEFAULT_FETCH_WAIT_MS),
            fold_interval_s=_positive_float(get, "FOLD_INTERVAL_S", 0.5),
            subscribe_heartbeat_s=_positive_float(get, "SUBSCRIBE_HEARTBEAT_S", 15.0),
            subscribe_buffer=_positive_int(get, "SUBSCRIBE_BUFFER", 1000),
            subscribe_fetch_wait_ms=_positive_int(
                get, "SUBSCRIBE_FETCH_WAIT_MS", DEFAULT_SUBSCRIBE_FETCH_WAIT_MS
            ),
            kafka_security_protocol=_choice(
                get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT") or "PLAINTEXT",
                "KAFKA_SECURITY_PROTOCOL",
                ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
            ),
            kafka_sasl_mechanism=get("KAFKA_SASL_MECHANISM"),
            kafka_sasl_username=get("KAFKA_SASL_USERNAME"),
            kafka_sasl_password=get("KAFKA_SASL_PASSWORD"),
            kafka_ssl_cafile=get("KAFKA_SSL_CAFILE"),
            ingest_tokens=_token_hashes(get("INGEST_TOKENS")),
            ingest_max_body_bytes=_int(
                get("INGEST_MAX_BODY_BYTES", str(1 << 20)), "INGEST_MAX_BODY_BYTES"
            ),
            ingest_max_records=_int(get("INGEST_MAX_RECORDS", "1000"), "INGEST_MAX_RECORDS"),
            lookup_per_minute=_positive_int(get, "LOOKUP_PER_MINUTE", 30),
            policy_file=_path(get("POLICY_FILE")),
            holiday_calendar=_path(get("HOLIDAY_CALENDAR")),
            min_shown_count=_positive_int(get, "MIN_SHOWN_COUNT", DEFAULT_MIN_SHOWN_COUNT),
            epidemic_test_window_h=_hours(get, "EPIDEMIC_TEST_WINDOW_HOURS"),
            public_min_count=_positive_int(get, "PUBLIC_MIN_COUNT", 10),
            public_round_base=_positive_int(get, "PUBLIC_ROUND_BASE", 5),
            public_release_hours=_positive_int(get, "PUBLIC_RELEASE_HOURS", 6),
            public_per_minute=_positive_int(get, "PUBLIC_PER_MINUTE", 60),
            registry_wait_s=_float(get("REGISTRY_WAIT_S", "60"), "REGISTRY_WAIT_S"),
            dlq_retention_days=_days(get, "DLQ_RETENTION_DAYS", DEFAULT_DLQ_RETENTION_DAYS),
            closed_alert_retention_days=_days(
                get, "CLOSED_ALERT_RETENTION_DAYS", DEFAULT_HISTORY_RETENTION_DAYS
            ),
            alert_response_hours=_response_hours(get("ALERT_RESPONSE_HOURS"), ALERT_RESPONSE_HOURS),
            snapshot_retention_days=_days(
                get, "SNAPSHOT_RETENTION_DAYS", DEFAULT_HISTORY_RETENTION_DAYS
            ),
            prune_interval_s=_positive_float(get, "PRUNE_INTERVAL_S", 600.0),
            prune_batch_size=_positive_int(get, "PRUNE_BATCH_SIZE", 1000),
            test_marks=_path(get("TEST_MARKS")),
            test_halt=_halt(get("TEST_HALT")),
            feed_schedule=parse_schedule(
                get("FEED_CADENCE"), get("FEED_HOURS"), get("FEED_UTC_OFFSET_H")
            ),
            freshness_interval_s=_positive_float(get, "FRESHNESS_INTERVAL_S", 30.0),
            mappings_dir=_path(get("MAPPINGS_DIR")),
            hmac_key_check=get("HMAC_KEY_CHECK"),
            seal_key_check=get("SEAL_KEY_CHECK"),
            topics=_topics(get("TOPICS"), production),
            liveness_stall_s=_positive_float(get, "LIVENESS_STALL_S", DEFAULT_LIVENESS_STALL_S),
            metrics_auth=_metrics_auth(get("METRICS_AUTH"), production),
            given_metrics_token=_metrics_token(get("METRICS_TOKEN"), get("METRICS_TOKEN_FILE")),
            database_tls=database_tls,
            registry_username=get("REGISTRY_USERNAME"),
            registry_password=get("REGISTRY_PASSWORD"),
            quality_metrics_port=_int(get("QUALITY_METRICS_PORT", "9103"), "QUALITY_METRICS_PORT"),
            quality_audiences=_names(get("QUALITY_AUDIENCES", "community-dashboard")),
            quality_days=_positive_int(get, "QUALITY_DAYS", 7),
        )
