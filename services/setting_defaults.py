"""The settings' defaults and the words of their modes, for the modules that need them without
a settings object (topic creation, the deploy manifests, the bench, the sharing policy)."""

# The merge consumer's fetch wait: the embedded broker holds a fetch open for most of it
# even when records arrive, so it bounds how fast an idle hub reacts.
DEFAULT_FETCH_WAIT_MS = 50
# The API's subscription consumer's fetch wait, for the same reason: measured on the embedded
# broker, a change reached a consumer 30 ms after it was sent at 100 ms and 13 ms at
# 50 ms (p50), while polling an idle hub cost about 2% and 4% of a core.
DEFAULT_SUBSCRIBE_FETCH_WAIT_MS = 50
# Dead letters wait for a department to fix and resend them; a month covers a monthly export.
DEFAULT_DLQ_RETENTION_DAYS = 30
# Closed alerts and hourly snapshots answer "what happened last year": a year and a month.
DEFAULT_HISTORY_RETENTION_DAYS = 400
# DATONG_TOPICS: a process creates the topics it misses (embedded and development hubs), or
# refuses to start without them (a real cluster, where the operator creates them with their
# replication and retention: deploy/k8s/topics.yaml).
TOPICS_MANAGE = "manage"
TOPICS_REQUIRE = "require"
# How long a worker's or connector's loop may stand still with work waiting before its
# /healthz says it is wedged: longer than any batch, retry or rebalance should take.
DEFAULT_LIVENESS_STALL_S = 300.0
# DATONG_METRICS_AUTH: /metrics open to anyone who reaches the port (embedded and development
# hubs), or only to a scraper that sends DATONG_METRICS_TOKEN as a bearer token (a real cluster).
METRICS_OPEN = "open"
METRICS_TOKEN = "token"
# DATONG_DATABASE_TLS: a PostgreSQL URL must verify the server's certificate and name
# (sslmode=verify-full, a real cluster), or is taken as given (embedded and development hubs).
DATABASE_TLS_VERIFY = "verify-full"
DATABASE_TLS_UNCHECKED = "unchecked"
# The smallest count of a derived count map (open alerts by type) a reader sees: a count from
# 1 to this minus one could single out a household, so it is shown as null (0 shows).
DEFAULT_MIN_SHOWN_COUNT = 5
# DATONG_ALERT_RESPONSE_HOURS: how long after an alert opens a visit must have closed it (a
# welfare check within a day; a red status or a quarantined household's delivery the same
# morning). Past it, an open alert is overdue: red on the dashboard, counted, alerted on.
DEFAULT_ALERT_RESPONSE_HOURS = {
    "WELFARE_CHECK": 24,
    "ISOLATION_RISK": 12,
    "QUARANTINE_DELIVERY": 4,
    "RED_STATUS": 4,
}
