"""The only place connectors talk to Kafka (kafka-python, acks=all, idempotent)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from connectors.base import Event, SourceRecord
from connectors.errors import PublishError, RecordError
from schemas.catalog import Catalog, dlq_topic
from schemas.errors import EncodeError
from schemas.headers import Headers, cloudevent_headers
from schemas.serde import Serde

ERROR_HEADER = "__datong.errors."


class KafkaPublisher:
    """Encodes events in the Confluent framing with CloudEvents headers and sends them."""

    def __init__(self, bootstrap: str, serde: Serde, **client_options: Any) -> None:
        self._serde = serde
        self._catalog: Catalog = serde.catalog
        self._errors: list[BaseException] = []
        options: dict[str, Any] = {
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 5,
            "batch_size": 256 * 1024,
            "max_in_flight_requests_per_connection": 5,
        }
        options.update(client_options)
        try:
            self._producer = KafkaProducer(bootstrap_servers=bootstrap, **options)
        except KafkaError as exc:
            raise PublishError(f"cannot connect to Kafka at {bootstrap}: {exc}") from exc

    def publish(self, event: Event) -> str:
        """Validate, encode and send ``event``; RecordError names the field that does not fit."""
        contract = self._catalog.event(event.department, event.event)
        try:
            value = self._serde.encode(contract, event.record)
        except EncodeError as exc:
            raise RecordError(exc.field, str(exc), "schema") from exc
        headers = cloudevent_headers(
            event.event_id, event.department, contract.full_name, event.record["event_time"]
        )
        self._send(contract.topic, event.key.encode(), value, headers)
        return contract.topic

    def dead_letter(
        self, department: str, record: SourceRecord, error: RecordError, sealed: bytes
    ) -> None:
        """Send a rejected record: reason, field, source and position in clear, the row sealed."""
        details = {
            "reason": error.reason,
            "code": error.code,
            "field": error.field,
            "source": record.source,
            "position": str(record.position),
            "department": department,
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        headers: Headers = [(ERROR_HEADER + k, v.encode()) for k, v in details.items()]
        self._send(dlq_topic(department), record.where.encode(), sealed, headers)

    def _send(self, topic: str, key: bytes, value: bytes, headers: Headers) -> None:
        try:
            future = self._producer.send(topic, key=key, value=value, headers=headers)
        except KafkaError as exc:
            raise PublishError(f"cannot send to {topic}: {exc}") from exc
        future.add_errback(self._errors.append)

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every sent record is acknowledged; PublishError if any was not."""
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as exc:
            raise PublishError(f"flush did not complete in {timeout_s}s: {exc}") from exc
        if self._errors:
            first, count = self._errors[0], len(self._errors)
            self._errors.clear()
            raise PublishError(f"{count} records were not acknowledged by the broker: {first}")

    def close(self) -> None:
        """Flush and close the producer."""
        self._producer.close()
