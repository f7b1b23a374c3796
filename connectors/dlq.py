"""Dead letters: list what a department's connector rejected, open one, fix it, resend it.

The reason, field, source and position are in clear on the record's headers; the original
row is sealed under the hub's seal key and bound to ``source#position`` (the record key),
so only an operator holding the key can open it, and only for the place it came from.

A replayed row is published with its original ``datong.source`` and ``datong.position``
headers and keeps its event_id, so a replay can tell which rejected rows already reached
their topic (by a replay, or by a rerun after ``datong connector reset``) and skips them:
replaying twice publishes nothing the second time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from connectors.base import RecordMapper, SourceRecord
from connectors.checkpoints import Offsets
from connectors.errors import ConnectorError, RecordError
from connectors.publisher import ERROR_HEADER, KafkaPublisher
from connectors.sealing import unseal
from schemas.catalog import dlq_topic


@dataclass(frozen=True)
class DeadLetter:
    """One rejected record as it sits on ``dlq.<department>``."""

    partition: int
    offset: int
    where: str
    details: Mapping[str, str]
    sealed: bytes
    written_at_ms: int = 0  # the record's Kafka timestamp: what the topic's retention counts from

    @property
    def origin(self) -> SourceRecord:
        """The source record it was rejected from (fields left out: they are sealed)."""
        return SourceRecord(
            self.details.get("source", self.where.rpartition("#")[0]),
            self.details.get("position", self.where.rpartition("#")[2]),
            {},
        )

    @property
    def ref(self) -> str:
        """How an operator names it on the command line: ``partition:offset``."""
        return f"{self.partition}:{self.offset}"


def read_dead_letters(
    bootstrap: str,
    department: str,
    idle_s: float = 1.0,
    timeout_s: float = 30.0,
    **client_options: object,
) -> list[DeadLetter]:
    """Every dead letter of a department, oldest first per partition.

    Reads until nothing new arrives for ``idle_s``: the embedded broker's end offsets are
    too low to say when the log ends.
    """
    topic = dlq_topic(department)
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            # An operator's command: an absent broker is one line within seconds (the
            # client's default waits 30 s).
            bootstrap_timeout_ms=10_000,
            **client_options,
        )
    except KafkaError as exc:
        raise ConnectorError(
            f"cannot reach Kafka at {bootstrap} ({exc}); start the broker or set "
            "DATONG_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise ConnectorError(f"{topic} does not exist: no dead letters for {department}")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        letters: list[DeadLetter] = []
        deadline, last_new = time.monotonic() + timeout_s, time.monotonic()
        while time.monotonic() - last_new < idle_s and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=200).values():
                letters += [_letter(m) for m in messages]
                last_new = time.monotonic() if messages else last_new
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    except KafkaError as exc:
        raise ConnectorError(f"reading {topic} from Kafka at {bootstrap} failed: {exc}") from exc
    finally:
        consumer.close()


def _letter(message: object) -> DeadLetter:
    headers = {
        key.removeprefix(ERROR_HEADER): value.decode("utf-8", "replace")
        for key, value in getattr(message, "headers", None) or []
        if key.startswith(ERROR_HEADER)
    }
    key = getattr(message, "key", None) or b""
    return DeadLetter(
        getattr(message, "partition", 0),
        getattr(message, "offset", 0),
        key.decode("utf-8", "replace"),
        headers,
        getattr(message, "value", b""),
        getattr(message, "timestamp", None) or 0,
    )


_REF = re.compile(r"(?:(\d+):)?(\d+)")


def parse_ref(ref: str) -> tuple[int, int]:
    """``partition:offset`` (or just ``offset`` on partition 0) as numbers; ConnectorError
    naming the expected form otherwise."""
    match = _REF.fullmatch(ref.strip())
    if match is None:
        raise ConnectorError(
            f"{ref!r} is not a dead letter reference: give partition:offset as "
            "`datong dlq list` prints it, e.g. 0:17"
        )
    return int(match.group(1) or 0), int(match.group(2))


def find(letters: list[DeadLetter], ref: str) -> DeadLetter:
    """The dead letter named ``partition:offset`` (or just ``offset`` on partition 0)."""
    partition, offset = parse_ref(ref)
    for letter in letters:
        if letter.partition == partition and letter.offset == offset:
            return letter
    raise ConnectorError(f"no dead letter {ref}; `datong dlq list` shows what there is")


def open_letter(letter: DeadLetter, seal_key: bytes) -> dict[str, object]:
    """The original record's fields (this shows personal data: for the operator only)."""
    return unseal(seal_key, letter.sealed, letter.where)


def replay(
    letter: DeadLetter,
    seal_key: bytes,
    fixes: Mapping[str, str],
    mapping: RecordMapper,
    publisher: KafkaPublisher,
) -> str:
    """Apply the operator's fixes to the original record, map and publish it again.

    Returns the published event_id; raises RecordError (naming the field) if it still fails,
    leaving the dead letter where it is.
    """
    event_id = _send_again(letter, seal_key, fixes, mapping, publisher)
    publisher.flush()
    return event_id


def _send_again(
    letter: DeadLetter,
    seal_key: bytes,
    fixes: Mapping[str, str],
    mapping: RecordMapper,
    publisher: KafkaPublisher,
) -> str:
    fields = open_letter(letter, seal_key)
    if "raw" in fields and len(fields) == 1 and not fixes:
        raise RecordError(
            "(row)", "the row could not be decoded; give every column with --set", "bad_encoding"
        )
    merged = {k: (None if v is None else str(v)) for k, v in fields.items() if k != "raw"}
    merged.update(fixes)
    event = mapping(merged)
    publisher.publish(event, letter.origin)
    return event.event_id


@dataclass
class ReplayStats:
    """What a bulk replay did: rows published, rows some earlier replay or rerun already
    published, and the rows still rejected by reason (their dead letters stay)."""

    replayed: int = 0
    already_published: int = 0
    still_rejected: dict[str, int] = field(default_factory=dict)


def replay_all(
    letters: Iterable[DeadLetter],
    seal_key: bytes,
    mapping: RecordMapper,
    publisher: KafkaPublisher,
    reason: str | None = None,
    *,
    origins: Callable[[Iterable[str]], Offsets] | None = None,
) -> ReplayStats:
    """Map every dead letter (of one reason code) again with the current mapping and
    publish those that now map, each source row at most once across replays.

    Which rows are already published is read from the event topics, from ``origins(the
    letters' sources)`` on (their checkpoints' origins: nothing of theirs lies before) or,
    without it, from the beginning.
    """
    chosen = {d.where: d for d in letters if reason is None or d.details.get("code") == reason}
    events = publisher.event_topics(mapping.department)
    sources = {str(letter.origin.source) for letter in chosen.values()}
    since = origins(sources) if origins is not None and chosen else {}
    published = publisher.published_origins(events, since)
    stats = ReplayStats()
    for where, letter in chosen.items():
        if where in published:
            stats.already_published += 1
            continue
        try:
            _send_again(letter, seal_key, {}, mapping, publisher)
        except RecordError as error:
            stats.still_rejected[error.code] = stats.still_rejected.get(error.code, 0) + 1
            continue
        stats.replayed += 1
    publisher.flush()
    return stats
