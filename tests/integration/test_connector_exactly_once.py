"""A connector interrupted anywhere and restarted publishes every source record exactly once."""

from __future__ import annotations

import csv
import json
import random
import re
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from connectors.base import Position
from connectors.checkpoints import FileCheckpoints, Offsets
from connectors.identity import check_digit
from connectors.mappings import MAPPINGS
from connectors.metrics import ConnectorMetrics
from connectors.publisher import SOURCE_HEADER, KafkaPublisher, Outgoing
from connectors.runner import Runner
from connectors.sources.csv_file import CsvFile
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry
from services.topics import ensure_topics, topic_specs
from tests.support.factories import (
    REGISTRY_HEADER,
    registry_rows,
    write_registry_csv,
    wrong_check_digit,
)
from tests.support.hub import Hub
from tests.support.topics import Consumed, read_topic

pytestmark = pytest.mark.integration

SEED = 20260311
TOPIC = "src.public-security.resident-registered"
DLQ = "dlq.public-security"
ROWS = 50_000


def write_big_export(path: Path, count: int) -> Path:
    """``count`` valid registrations, written directly (the factories are too slow for 50,000)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(REGISTRY_HEADER)
        for i in range(count):
            born = date(1940, 1, 1) + timedelta(days=i // 1000)
            first17 = f"110105{born:%Y%m%d}{i % 1000:03d}"
            writer.writerow(
                [
                    f"RB{i:07d}",
                    "登记",
                    first17 + check_digit(first17),
                    "王芳",
                    "",
                    "",
                    "13812345678",
                    f"H{i // 3:05d}",
                    f"D-{i // 3:05d}",
                    f"C{1 + i % 3:03d}",
                    "北京市朝阳区幸福里1号楼",
                    "2024-03-05 10:00:00",
                ]
            )
    return path


def checkpoint_position(path: Path) -> int:
    """The position the connector last checkpointed for any source (0 before the first)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return max((int(e.get("position") or 0) for e in entries.values()), default=0)


def passed(checkpoints: Path, row: int, process: subprocess.Popen[bytes]) -> bool:
    """The connector checkpointed ``row`` (or ended, which the caller reports)."""
    return checkpoint_position(checkpoints) >= row or process.poll() is not None


def on_the_log(bootstrap: str) -> int:
    """Records on the registrations topic now, from the high watermarks of fetch responses.

    The embedded broker's end offsets run low, so they only say where to fetch from; a
    high watermark seen is never above the real one.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    try:
        tps = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC) or ()]
        consumer.assign(tps)
        for tp, offset in consumer.end_offsets(tps).items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + 10
        while any(consumer.highwater(tp) is None for tp in tps) and time.monotonic() < deadline:
            consumer.poll(timeout_ms=100)
        return sum(consumer.highwater(tp) or 0 for tp in tps)
    finally:
        consumer.close()


def stopped_with_unsaved_records(
    process: subprocess.Popen[bytes], bootstrap: str, checkpoints: Path, pause_s: float
) -> int:
    """Freeze the connector; leave it frozen if the broker holds rows past its checkpoint.

    Returns how many rows it published after its checkpoint (0: it was let go on).
    """
    time.sleep(pause_s)
    process.send_signal(signal.SIGSTOP)
    unsaved = on_the_log(bootstrap) - checkpoint_position(checkpoints)
    if unsaved <= 0:
        process.send_signal(signal.SIGCONT)
    return max(unsaved, 0)


def skipped_on_restart(log: str) -> int:
    """What a restarted connector found already published (0 when it logged nothing)."""
    found = re.search(r"; (\d+) of its records already on the topics", log)
    return int(found.group(1)) if found else 0


def test_a_connector_killed_twice_mid_file_publishes_every_row_exactly_once(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    print(f"exactly-once seed {SEED}")
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    hub.start("api")  # the connector looks its schema ids up in the API's registry
    export = write_big_export(tmp_path / "户籍-大.csv", ROWS)
    checkpoints = hub.settings.checkpoint_dir / "public-security.json"
    unsaved_at_kill = []
    for low, high in ((8_000, 20_000), (26_000, 40_000)):
        at_least, pause_s = rng.randint(low, high), rng.uniform(0.0, 0.2)
        process = hub.start("connector", "run", "public-security", "--source", str(export))
        hub.wait_for(
            partial(passed, checkpoints, at_least, process), f"the connector to pass row {at_least}"
        )
        assert process.poll() is None, "the connector finished before it could be killed"
        # Killed while rows it sent are on the broker but not in its checkpoint: the
        # window a plain checkpoint-after-flush connector would publish twice.
        unsaved_at_kill.append(
            hub.wait_for(
                partial(stopped_with_unsaved_records, process, bootstrap, checkpoints, pause_s),
                "a moment with rows published past the checkpoint",
            )
        )
        hub.kill(process, signal.SIGKILL)
    final = hub.start("connector", "run", "public-security", "--source", str(export))
    assert final.wait(120) == 0, hub.logs()[-3000:]

    records = read_topic(bootstrap, TOPIC, expect=ROWS, timeout_s=60)
    ids = [r.headers["ce_id"] for r in records]
    assert (len(set(ids)), len(ids) - len(set(ids))) == (ROWS, 0)
    restarts = [i for i, command in enumerate(hub.commands) if command == "connector"][1:]
    skipped = [skipped_on_restart((hub.tmp / f"connector-{i}.log").read_text()) for i in restarts]
    assert all(s >= u > 0 for s, u in zip(skipped, unsaved_at_kill, strict=True)), (
        f"skipped {skipped} on restart, {unsaved_at_kill} unsaved at the kills"
    )


# --- the exact windows, in one process --------------------------------------------------


class KilledError(Exception):
    """The process dies here."""


class CrashingCheckpoints(FileCheckpoints):
    """Dies after the flush of batch ``die_at``, before its position is saved."""

    def __init__(self, path: Path, die_at: int) -> None:
        super().__init__(path)
        self.saves, self.die_at = 0, die_at

    def save(self, source: str, position: Position, since: Offsets | None = None) -> None:
        self.saves += 1
        if self.saves == self.die_at:
            raise KilledError
        super().save(source, position, since)


class DyingPublisher(KafkaPublisher):
    """Dies after handing ``die_after`` records to the producer: sent, not flushed.

    The runner sends a batch only once it is mapped and encoded, so this is where a kill
    leaves records on their way to the broker and the checkpoint behind them.
    """

    def __init__(self, bootstrap: str, serde: Serde, die_after: int) -> None:
        super().__init__(bootstrap, serde)
        self.left = die_after

    def send(self, outgoing: Outgoing) -> Any:
        if self.left == 0:
            raise KilledError
        self.left -= 1
        return super().send(outgoing)


@pytest.fixture
def serde(broker: str, tmp_path: Path) -> Serde:
    catalog = Catalog.load()
    ensure_topics(broker, topic_specs(catalog, 4))
    engine = create_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    create_schema(engine)
    return Serde(catalog, SqlRegistry(engine))


def runner(
    broker: str, serde: Serde, checkpoints: FileCheckpoints, publisher: KafkaPublisher | None = None
) -> Runner:
    return Runner(
        mapping=MAPPINGS["public-security"](b"k" * 32),
        publisher=publisher or KafkaPublisher(broker, serde),
        checkpoints=checkpoints,
        seal_key=b"s" * 32,
        metrics=ConnectorMetrics(CollectorRegistry()),
        batch_size=500,
    )


def ours(bootstrap: str, topic: str, source: str, expect: int) -> list[Consumed]:
    """The records one source published on a topic the session's other tests share."""
    wanted = source.encode()
    records = read_topic(bootstrap, topic, expect=expect)
    return [r for r in records if r.headers.get(SOURCE_HEADER) == wanted]


def export_with_rejects(path: Path, count: int) -> CsvFile:
    rows = registry_rows(count, seed=5)
    for row in rows[7::50]:
        row.id_number = wrong_check_digit(row.id_number)
    return CsvFile(write_registry_csv(path, rows))


@pytest.mark.parametrize("die_at", [1, 3])
def test_a_crash_between_flush_and_checkpoint_resends_nothing(
    broker: str, serde: Serde, tmp_path: Path, die_at: int
) -> None:
    source = export_with_rejects(tmp_path / f"flush-{die_at}.csv", 2000)
    path = tmp_path / "cp.json"
    first = runner(broker, serde, CrashingCheckpoints(path, die_at))
    with pytest.raises(KilledError):
        first.run(source)
    first.publisher.close()
    second = runner(broker, serde, FileCheckpoints(path))
    stats = second.run(source)
    second.publisher.close()
    assert stats.skipped == 500  # the batch flushed before the crash
    assert stats.published + stats.rejected + stats.skipped + 500 * (die_at - 1) == 2000
    events = ours(broker, TOPIC, source.name, expect=1)
    assert len(events) == len({r.headers["ce_id"] for r in events}) == 1960
    assert len(ours(broker, DLQ, source.name, expect=1)) == 40


def test_a_crash_between_send_and_flush_resends_nothing(
    broker: str, serde: Serde, tmp_path: Path
) -> None:
    source = export_with_rejects(tmp_path / "send.csv", 1500)
    path = tmp_path / "cp.json"
    first = runner(broker, serde, FileCheckpoints(path), DyingPublisher(broker, serde, 1234))
    with pytest.raises(KilledError):
        first.run(source)
    first.publisher.close()  # what the broker received before the kill stays on the log
    second = runner(broker, serde, FileCheckpoints(path))
    stats = second.run(source)
    second.publisher.close()
    assert stats.skipped == 234
    events = ours(broker, TOPIC, source.name, expect=1)
    assert len(events) == len({r.headers["ce_id"] for r in events}) == 1470
    assert len(ours(broker, DLQ, source.name, expect=1)) == 30
