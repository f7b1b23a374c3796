"""Every file and table adapter publishes through the runner to the real broker."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from connectors.base import Event
from connectors.checkpoints import FileCheckpoints
from connectors.gazetteer import AddressUnresolved
from connectors.mappings import MAPPINGS
from connectors.metrics import ConnectorMetrics
from connectors.publisher import POSITION_HEADER, SOURCE_HEADER, KafkaPublisher
from connectors.resolution import ResolutionQueue
from connectors.runner import Runner
from connectors.sources.csv_file import CsvFile
from connectors.sources.drop_folder import DropFolder
from connectors.sources.sql_table import SqlTable
from connectors.state.store import open_state_store
from schemas.catalog import Catalog, parked_topic
from schemas.headers import PARKED_PREFIX
from schemas.serde import Serde
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry
from services.topics import ensure_topics, topic_specs
from tests.support.factories import REGISTRY_HEADER, RegistryRow, registry_rows, write_registry_csv
from tests.support.topics import Consumed, read_topic
from tests.support.workbooks import write_xlsx

pytestmark = pytest.mark.integration

TOPIC = "src.public-security.resident-registered"


@pytest.fixture
def serde(broker: str, tmp_path: Path) -> Iterator[Serde]:
    catalog = Catalog.load()
    ensure_topics(broker, topic_specs(catalog, 4))
    engine = create_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    create_schema(engine)
    yield Serde(catalog, SqlRegistry(engine))
    engine.dispose()


@pytest.fixture
def runner(broker: str, serde: Serde, tmp_path: Path) -> Iterator[Runner]:
    runner = Runner(
        mapping=MAPPINGS["public-security"](b"k" * 32),
        publisher=KafkaPublisher(broker, serde),
        checkpoints=FileCheckpoints(tmp_path / "checkpoints.json"),
        seal_key=b"s" * 32,
        metrics=ConnectorMetrics(CollectorRegistry()),
        batch_size=50,
    )
    yield runner
    runner.publisher.close()


def published_by(bootstrap: str, source: str, expect: int) -> list[Consumed]:
    """Records of ``source`` on the registrations topic (other tests share the topic)."""
    wanted = source.encode()
    return [
        r for r in read_topic(bootstrap, TOPIC, expect) if r.headers.get(SOURCE_HEADER) == wanted
    ]


def cells(row: RegistryRow) -> list[object]:
    values: list[object] = list(row.cells())
    values[11] = datetime.fromisoformat(str(values[11]))  # 办理时间 as a date-time cell
    return values


def test_xlsx_jsonl_and_csv_files_in_a_drop_folder_are_published_and_moved_to_done(
    broker: str, runner: Runner, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = registry_rows(30, seed=21, start=9000)
    write_xlsx(drop / "户籍-1.xlsx", [list(REGISTRY_HEADER), *(cells(r) for r in rows[:10])])
    (drop / "户籍-2.jsonl").write_text(
        "\n".join(
            json.dumps(dict(zip(REGISTRY_HEADER, r.cells(), strict=True)), ensure_ascii=False)
            for r in rows[10:20]
        ),
        encoding="utf-8",
    )
    write_registry_csv(drop / "户籍-3.csv", rows[20:], encoding="gb18030")
    folder = DropFolder(drop)
    names = []
    for source in folder.pending():
        stats = runner.run(source)
        assert (stats.published, stats.rejected) == (10, 0), source.name
        names.append(source.name)
        folder.finish(source, ok=True)
    assert sorted(p.name for p in (drop / "done").iterdir()) == [
        "户籍-1.xlsx",
        "户籍-2.jsonl",
        "户籍-3.csv",
    ]
    for name in names:
        assert len({r.headers["ce_id"] for r in published_by(broker, name, 10)}) == 10


# --- SQL table polling -----------------------------------------------------------------------


def create_department_table(url: str) -> sa.Table:
    """The public security bureau's transaction table, as its own system keeps it."""
    metadata = sa.MetaData()
    table = sa.Table(
        "户籍业务",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.String(200)) for name in REGISTRY_HEADER),
    )
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    return table


def insert_rows(engine: sa.Engine, table: sa.Table, rows: list[RegistryRow], at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {"updated_at": at, **dict(zip(REGISTRY_HEADER, r.cells(), strict=True))}
                for r in rows
            ],
        )


def test_a_department_table_is_polled_by_updated_at_without_gaps_or_repeats(
    broker: str, database_url: str, runner: Runner
) -> None:
    table = create_department_table(database_url)
    engine = sa.create_engine(database_url)
    t0 = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
    rows = registry_rows(75, seed=31, start=7000)
    insert_rows(engine, table, rows[:40], t0)  # one timestamp for many rows: the key orders them
    source = SqlTable(engine, "户籍业务", "updated_at", "id", batch_size=16)
    first = runner.run(source)
    assert (first.published, first.rejected) == (40, 0)

    insert_rows(engine, table, rows[40:60], t0)  # same time as the last row read, higher ids
    insert_rows(engine, table, rows[60:], t0 + timedelta(seconds=1))
    again = runner.run(source)
    assert (again.published, again.skipped) == (35, 0)
    assert runner.run(source).published == 0

    restarted = Runner(
        runner.mapping,
        runner.publisher,
        FileCheckpoints(runner.checkpoints.path),
        runner.seal_key,
        runner.metrics,
    )
    assert restarted.run(SqlTable(engine, "户籍业务", "updated_at", "id")).published == 0
    engine.dispose()
    records = published_by(broker, source.name, 75)
    assert len(records) == len({r.headers["ce_id"] for r in records}) == 75


class ParkingMapping:
    """The registry mapping, with every address in building 9 unknown to the gazetteer."""

    department = "public-security"

    def __init__(self) -> None:
        self._inner = MAPPINGS["public-security"](b"k" * 32)

    def __call__(self, fields: Mapping[str, str | None]) -> Event:
        if "9号楼" in (fields.get("住址") or ""):
            raise AddressUnresolved("住址", "matches no dwelling", ())
        return self._inner(fields)


def test_records_whose_address_does_not_resolve_are_parked_not_dead_lettered(
    broker: str, runner: Runner, tmp_path: Path
) -> None:
    rows = registry_rows(6, seed=41, start=9500)
    for row in rows[::3]:
        row.address = "北京市朝阳区幸福里9号楼1单元101"
    source = CsvFile(write_registry_csv(tmp_path / "addresses.csv", rows))
    engine = open_state_store(f"sqlite:///{tmp_path / 'queue.db'}")
    queue = ResolutionQueue(engine, runner.seal_key)
    parking = Runner(
        ParkingMapping(),
        runner.publisher,
        runner.checkpoints,
        runner.seal_key,
        runner.metrics,
        parking=queue,
    )
    stats = parking.run(source)
    assert (stats.published, stats.parked, stats.rejected) == (4, 2, 0)
    assert sorted(p.record.position for p in queue.parked()) == ["1", "4"]
    engine.dispose()


def test_a_parked_row_is_announced_once_even_when_the_run_is_resumed_after_a_crash(
    broker: str, runner: Runner, tmp_path: Path
) -> None:
    rows = registry_rows(6, seed=43, start=9600)
    for row in rows[1::3]:
        row.address = "北京市朝阳区幸福里9号楼1单元101"
    source = CsvFile(write_registry_csv(tmp_path / "parked-notices.csv", rows))
    engine = open_state_store(f"sqlite:///{tmp_path / 'queue.db'}")
    parking = partial(
        Runner,
        ParkingMapping(),
        runner.publisher,
        seal_key=runner.seal_key,
        metrics=runner.metrics,
        parking=ResolutionQueue(engine, runner.seal_key),
    )
    assert parking(runner.checkpoints).run(source).parked == 2
    # Killed after its records reached the broker, before its first checkpoint: the entry
    # still says "begun, nothing saved" and where the topics ended then.
    saved = json.loads(runner.checkpoints.path.read_text(encoding="utf-8"))
    saved[source.name] = {"position": None, "since": saved[source.name]["origin"]}
    runner.checkpoints.path.write_text(json.dumps(saved), encoding="utf-8")
    resumed = parking(FileCheckpoints(runner.checkpoints.path)).run(source)
    assert (resumed.published, resumed.parked, resumed.skipped) == (0, 0, 6)
    engine.dispose()

    wanted = source.name.encode()
    notices = [
        r
        for r in read_topic(broker, parked_topic("public-security"), expect=2)
        if r.headers.get(SOURCE_HEADER) == wanted
    ]
    assert sorted(r.headers[POSITION_HEADER] for r in notices) == [b"2", b"5"]
    for notice in notices:  # what happened, never the row: no address, no name, no ID
        assert notice.value == b""
        assert notice.headers[PARKED_PREFIX + "outcome"] == b"parked"
        assert notice.headers[PARKED_PREFIX + "code"] == b"unresolved_address"
        assert notice.headers[PARKED_PREFIX + "field"] == "住址".encode()
        assert "幸福里".encode() not in b"".join([notice.key or b"", *notice.headers.values()])
