"""The only place connectors talk to Kafka (kafka-python, acks=all, idempotent), with
``published_log.py``, which reads the topics back.

Every record a connector publishes for a source record carries ``datong.source`` and
``datong.position`` headers, so a restarted connector can read back what an interrupted
run already published (``read_back``) instead of publishing it twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from kafka import KafkaProducer
from kafka.errors import KafkaError

from connectors.base import Event, SourceRecord
from connectors.checkpoints import Offsets
from connectors.errors import PublishError, RecordError
from connectors.partitioner import pick_partition
from connectors.published_log import PublishedLog
from schemas.catalog import Catalog, Contract, dlq_topic, parked_topic
from schemas.errors import EncodeError
from schemas.headers import DEAD_LETTER_PREFIX, PARKED_PREFIX, CloudEventHeaders, Headers
from schemas.producing import KAFKA_PYTHON_OPTIONS
from schemas.serde import Serde

ERROR_HEADER = DEAD_LETTER_PREFIX
SOURCE_HEADER = "datong.source"

POSITION_HEADER = "datong.position"
# Client options that concern the connection (TLS, SASL), shared by the read-back consumer.
_CONNECTION_OPTIONS = ("security_protocol", "sasl_", "ssl_")


class Outgoing(NamedTuple):
    """One record ready for the wire: its topic, key, Confluent-framed value and headers."""

    topic: str
    key: bytes
    value: bytes
    headers: Headers


class KafkaPublisher:
    """Encodes events in the Confluent framing with CloudEvents headers and sends them."""

    def __init__(self, bootstrap: str, serde: Serde, **client_options: Any) -> None:
        self._serde = serde
        self._catalog: Catalog = serde.catalog
        self._errors: list[BaseException] = []
        self._acked: Offsets = {}
        self._acked_lock = threading.Lock()
        # Per partition, the future of the last record sent to it: records of one partition
        # are acknowledged in order (idempotent producer), so the last one's offset is the
        # partition's. Read after a flush, it replaces a callback per record on kafka-python's
        # I/O thread, which competed with this one for the interpreter.
        self._last: dict[tuple[str, int], Any] = {}
        # Per topic, its partition ids in order, asked of the producer's metadata once per
        # flush or intake request rather than per record (a set built and sorted each time).
        self._partitions: dict[str, list[int]] = {}
        # Per (department, event): its contract and the maker of its CloudEvents headers.
        self._kinds: dict[tuple[str, str], tuple[Contract, CloudEventHeaders]] = {}
        self._source: tuple[str, bytes] = ("", b"")  # the last origin's name, encoded
        connection = {k: v for k, v in client_options.items() if k.startswith(_CONNECTION_OPTIONS)}
        self._log = PublishedLog(bootstrap, connection)
        options = {**KAFKA_PYTHON_OPTIONS, **client_options}
        try:
            self._producer = KafkaProducer(bootstrap_servers=bootstrap, **options)
        except KafkaError as exc:
            raise PublishError(f"cannot connect to Kafka at {bootstrap}: {exc}") from exc

    def check(self, event: Event) -> bytes:
        """Validate and encode ``event`` without sending it; RecordError names the bad field."""
        return self._encode(self._catalog.event(event.department, event.event), event)

    def publish(self, event: Event, origin: SourceRecord | None = None) -> str:
        """Validate, encode and send ``event`` (from ``origin``, when it came from a source)."""
        outgoing = self.prepare(event, origin)
        self.send(outgoing)
        return outgoing.topic

    def prepare(self, event: Event, origin: SourceRecord | None = None) -> Outgoing:
        """Validate and encode ``event`` into the record ``send`` puts on the wire."""
        kind = self._kinds.get((event.department, event.event))
        if kind is None:
            kind = self._kind(event.department, event.event)
        contract, headers_of = kind
        value = self._encode(contract, event)
        record = event.record
        headers = headers_of(str(record["event_id"]), record["event_time"])
        if origin is not None:
            headers.append((SOURCE_HEADER, self._source_header(origin.source)))
            headers.append((POSITION_HEADER, str(origin.position).encode()))
        return Outgoing(contract.topic, event.key.encode(), value, headers)

    def _kind(self, department: str, event: str) -> tuple[Contract, CloudEventHeaders]:
        """The contract of a department's event and its headers' maker, looked up once."""
        contract = self._catalog.event(department, event)
        kind = self._kinds[(department, event)] = (
            contract,
            CloudEventHeaders(department, contract.full_name),
        )
        return kind

    def _source_header(self, source: str) -> bytes:
        """``source`` as its header's bytes: a run sends thousands of records of one source."""
        if source != self._source[0]:
            self._source = (source, source.encode())
        return self._source[1]

    def _encode(self, contract: Contract, event: Event) -> bytes:
        try:
            return self._serde.encode(contract, event.record)
        except EncodeError as exc:
            raise RecordError(exc.field, str(exc), "schema") from exc

    def publish_all(self, events: Sequence[Event], timeout_s: float = 30.0) -> None:
        """Send ``events`` and wait until the broker acknowledged each of them.

        Waits on this call's own records only, so concurrent callers (HTTP requests)
        never see each other's failures; PublishError when any was not acknowledged.
        """
        prepared = [self.prepare(event) for event in events]  # all valid, or none sent
        # An intake publisher never flushes: partitions are looked up again per request.
        self._partitions.clear()
        futures = [self.send(outgoing) for outgoing in prepared]
        deadline = time.monotonic() + timeout_s
        for future in futures:
            try:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
            except KafkaError as exc:
                raise PublishError(f"the broker did not acknowledge a record: {exc}") from exc

    def dead_letter(
        self, department: str, record: SourceRecord, error: RecordError, sealed: bytes
    ) -> None:
        """Send a rejected record: reason, field, source and position in clear, the row sealed."""
        self.send(self.prepare_dead_letter(department, record, error, sealed))

    def prepare_dead_letter(
        self, department: str, record: SourceRecord, error: RecordError, sealed: bytes
    ) -> Outgoing:
        """The dead letter of a rejected record, as ``send`` puts it on the wire."""
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
        headers += _origin_headers(record)
        return Outgoing(dlq_topic(department), record.where.encode(), sealed, headers)

    def prepare_notice(
        self, department: str, record: SourceRecord, outcome: str, error: RecordError
    ) -> Outgoing:
        """A parked-address notice (``parked`` or ``resolved``) for the hub's feed scorecards:
        what happened, the field and its reason code, never the row or the address."""
        details = {
            "outcome": outcome,
            "code": error.code,
            "field": error.field,
            "department": department,
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        headers: Headers = [(PARKED_PREFIX + k, v.encode()) for k, v in details.items()]
        headers += _origin_headers(record)
        return Outgoing(parked_topic(department), record.where.encode(), b"", headers)

    def notice(
        self, department: str, record: SourceRecord, outcome: str, error: RecordError
    ) -> None:
        """Send a parked-address notice (``prepare_notice``)."""
        self.send(self.prepare_notice(department, record, outcome, error))

    def send(self, outgoing: Outgoing) -> Any:
        """Hand a prepared record to the producer; its future, and ``flush`` says how it went."""
        topic, key = outgoing.topic, outgoing.key
        try:
            ordered = self._partitions.get(topic)
            if ordered is None:
                ordered = self._partitions[topic] = sorted(self._producer.partitions_for(topic))
            # The partition kafka-python's default partitioner would pick, computed faster.
            partition = pick_partition(key, ordered)
            future = self._producer.send(
                topic, key=key, value=outgoing.value, headers=outgoing.headers, partition=partition
            )
        except KafkaError as exc:
            raise PublishError(f"cannot send to {topic}: {exc}") from exc
        future.add_errback(self._errors.append)
        self._last[(topic, partition)] = future
        return future

    def acked_offsets(self) -> Offsets:
        """Per partition, the offset after the last record the broker acknowledged to us.

        Exact after a successful flush; before one, a partition whose last record is still
        in flight keeps its earlier offset, a lower bound.
        """
        with self._acked_lock:
            for (topic, partition), future in list(self._last.items()):
                if future.succeeded():
                    partitions = self._acked.setdefault(topic, {})
                    offset = future.value.offset + 1
                    partitions[partition] = max(offset, partitions.get(partition, 0))
            return {topic: dict(parts) for topic, parts in self._acked.items()}

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every sent record is acknowledged; PublishError if any was not."""
        self._partitions.clear()  # a topic given more partitions is seen from the next batch
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as exc:
            raise PublishError(f"flush did not complete in {timeout_s}s: {exc}") from exc
        if self._errors:
            first, count = self._errors[0], len(self._errors)
            self._errors.clear()
            raise PublishError(f"{count} records were not acknowledged by the broker: {first}")

    def department_topics(self, department: str) -> list[str]:
        """Every topic a department's connector may write: its source topics, dead letters and
        parked notices (a resumed run reads them back too, so a notice is sent once)."""
        return [c.topic for c in self._catalog.sources(department)] + [
            dlq_topic(department),
            parked_topic(department),
        ]

    def event_topics(self, department: str) -> list[str]:
        """A department's source topics: where its published events are."""
        return [c.topic for c in self._catalog.sources(department)]

    def log_ends(self, topics: Iterable[str]) -> Offsets:
        """A lower bound of each partition's log end (``PublishedLog.ends``)."""
        return self._log.ends(topics)

    def read_back(
        self, source: str, since: Offsets, topics: Iterable[str], timeout_s: float = 60.0
    ) -> set[str]:
        """Positions of ``source`` found on ``topics`` from the ``since`` offsets on.

        "All read" is decided per partition from the high watermark of the fetch
        responses (exact on the embedded broker too), never from ListOffsets; a
        partition missing from ``since`` is read from its beginning.
        """
        wanted = source.encode()
        found: set[str] = set()

        def collect(headers: dict[str, bytes]) -> None:
            if headers.get(SOURCE_HEADER) == wanted:
                found.add(headers[POSITION_HEADER].decode())

        self._log.scan(since, topics, collect, f"reading back {source}", timeout_s)
        return found

    def published_origins(
        self, topics: Iterable[str], since: Offsets | None = None, timeout_s: float = 60.0
    ) -> set[str]:
        """``source#position`` of every record on ``topics`` sent for a source record,
        read from ``since`` (partitions it leaves out: from the beginning); a replay asks
        which rejected rows were published since."""
        found: set[str] = set()

        def collect(headers: dict[str, bytes]) -> None:
            source, position = headers.get(SOURCE_HEADER), headers.get(POSITION_HEADER)
            if source is not None and position is not None:
                found.add(f"{source.decode()}#{position.decode()}")

        self._log.scan(since or {}, topics, collect, "reading the published events", timeout_s)
        return found

    def close(self) -> None:
        """Flush and close the producer."""
        self._producer.close()


def _origin_headers(record: SourceRecord) -> Headers:
    return [
        (SOURCE_HEADER, record.source.encode()),
        (POSITION_HEADER, str(record.position).encode()),
    ]
