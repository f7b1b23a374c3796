#!/bin/sh
# Generated from the schema catalog by `datong deploy render-topics --format script`; do not edit.
# Creates every datong topic; topics that exist already are left as they are.
# Source topics keep every event (retention.ms=-1): `datong views rebuild` replays them from the start.
# Where the cluster has tiered storage (KIP-405), add remote.storage.enable=true to them to move old segments to object storage.
# Dead letters expire after 30 days: keep this equal to the hub's DATONG_DLQ_RETENTION_DAYS, which `datong dlq list` reports expiry by.
set -eu
BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka-1:19092}"
KAFKA_TOPICS="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"
REPLICAS=3

create() {
  topic="$1"; partitions="$2"; shift 2
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$REPLICAS" "$@"
}

create dlq.civil-affairs 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create dlq.commerce 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create dlq.grid 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create dlq.health 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create dlq.housing 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create dlq.public-security 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create dlq.utilities 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create parked.civil-affairs 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create parked.commerce 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create parked.grid 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create parked.health 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create parked.housing 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create parked.public-security 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create parked.utilities 1 --config cleanup.policy=delete --config retention.ms=2592000000 --config min.insync.replicas=2
create src.civil-affairs.care-need-assessed 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.civil-affairs.care-visit-logged 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.commerce.delivery-fulfilled 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.commerce.delivery-requested 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.commerce.supply-stock-reported 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.grid.grid-report-filed 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.grid.task-assigned 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.grid.task-completed 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.health.health-status-changed 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.health.quarantine-lifted 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.health.quarantine-ordered 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.health.test-result-reported 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.health.vaccination-recorded 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.housing.dwelling-registered 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.housing.renovation-progress-reported 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.public-security.resident-deregistered 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.public-security.resident-moved 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.public-security.resident-registered 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create src.utilities.meter-reading 12 --config cleanup.policy=delete --config retention.ms=-1 --config min.insync.replicas=2
create view.alert 12 --config cleanup.policy=compact --config delete.retention.ms=86400000 --config min.insync.replicas=2
create view.community_situation 12 --config cleanup.policy=compact --config delete.retention.ms=86400000 --config min.insync.replicas=2
create view.household 12 --config cleanup.policy=compact --config delete.retention.ms=86400000 --config min.insync.replicas=2
create view.resident_profile 12 --config cleanup.policy=compact --config delete.retention.ms=86400000 --config min.insync.replicas=2
