"""SQL table polling (on SQLite here; tests/integration/test_sources.py runs it on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.errors import SourceError
from connectors.sources.sql_table import SqlTable, sql_source

metadata = sa.MetaData()
EXPORT = sa.Table(
    "登记表",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("姓名", sa.String(50)),
    sa.Column("数量", sa.Numeric(10, 2)),
)


def naive(text: str) -> datetime:
    """A time as the department's DATETIME column holds it: without a zone."""
    return datetime.fromisoformat(text)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'dept.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def insert(engine: sa.Engine, *rows: tuple[int, datetime, str]) -> None:
    with engine.begin() as conn:
        conn.execute(
            EXPORT.insert(), [{"id": i, "updated_at": t, "姓名": n, "数量": 1} for i, t, n in rows]
        )


def test_rows_come_in_keyset_order_across_batches(engine: sa.Engine) -> None:
    t1, t2 = naive("2024-03-05T10:00"), naive("2024-03-05T11:00")
    # ids and times disagree on purpose: the column orders first, the key breaks ties
    insert(engine, (5, t1, "甲"), (2, t2, "乙"), (3, t1, "丙"), (9, t1, "丁"), (1, t2, "戊"))
    table = SqlTable(engine, "登记表", "updated_at", "id", batch_size=2)
    records = list(table.records())
    assert [r.fields["id"] for r in records] == ["3", "5", "9", "1", "2"]
    assert records[0].fields["updated_at"] == "2024-03-05 10:00:00"
    assert records[0].fields["数量"] == "1.00"


def test_polling_again_from_a_position_returns_only_newer_rows(engine: sa.Engine) -> None:
    t1, t2 = naive("2024-03-05T10:00"), naive("2024-03-05T11:00")
    insert(engine, (1, t1, "甲"), (2, t1, "乙"))
    table = SqlTable(engine, "登记表", "updated_at", "id", batch_size=10)
    first = list(table.records())
    last = first[-1].position
    assert isinstance(last, str)
    # a row with the same time as the last one read, and a later one
    insert(engine, (3, t1, "丙"), (4, t2, "丁"))
    assert [r.fields["id"] for r in table.records(last)] == ["3", "4"]
    assert list(table.records(str(list(table.records(last))[-1].position))) == []


def test_an_integer_id_column_works_as_the_incremental_column(engine: sa.Engine) -> None:
    insert(engine, *[(i, naive("2024-01-01"), f"人{i}") for i in range(1, 8)])
    table = SqlTable(engine, "登记表", "id", "id", batch_size=3)
    records = list(table.records())
    assert [r.fields["id"] for r in records] == [str(i) for i in range(1, 8)]
    assert [r.fields["id"] for r in table.records(str(records[3].position))] == ["5", "6", "7"]


def test_a_formula_in_a_cell_is_rejected_per_row(engine: sa.Engine) -> None:
    insert(engine, (1, naive("2024-01-01"), "=1+1"), (2, naive("2024-01-01"), "张三"))
    records = list(SqlTable(engine, "登记表", "id", "id").records())
    assert [r.error.code if r.error else None for r in records] == ["formula", None]


def test_a_missing_table_or_column_is_a_source_error(engine: sa.Engine) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        list(SqlTable(engine, "无此表", "id", "id").records())
    with pytest.raises(SourceError, match="no column"):
        list(SqlTable(engine, "登记表", "changed", "id").records())


def test_the_source_name_never_holds_the_database_password() -> None:
    engine = sa.create_engine("postgresql+psycopg://clerk:secret@db.example/dept")
    assert "secret" not in SqlTable(engine, "t", "id", "id").name


def test_a_key_holding_resident_id_numbers_is_refused(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ids.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE people (id_number TEXT PRIMARY KEY, name TEXT)"))
        conn.execute(sa.text("INSERT INTO people VALUES ('11010519491231002X', 'a')"))
    with pytest.raises(SourceError, match="surrogate key"):
        list(SqlTable(engine, "people", "id_number", "id_number").records())
    engine.dispose()


def test_a_sql_source_uri_names_the_table_column_and_key(tmp_path: Path) -> None:
    uri = f"sql+sqlite:///{tmp_path / 'dept.db'}?table=登记表&column=updated_at&key=id"
    table = sql_source(uri)
    assert (table.table_name, table.column_name, table.key_name) == ("登记表", "updated_at", "id")
    assert "table" not in str(table.engine.url)
    table.engine.dispose()
    with pytest.raises(SourceError, match="table="):
        sql_source(f"sql+sqlite:///{tmp_path / 'dept.db'}?table=登记表")
