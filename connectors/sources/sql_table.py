"""Polling a department's database table through SQLAlchemy, by an incremental column.

Rows are read in keyset order ``(column, key)``: the incremental column (an id or an
``updated_at``) first, the primary key to order rows that share a column value, so the
order is total and a batch boundary never skips or repeats a row. The position of a row is
that pair as JSON text (``["2024-03-05T10:00:00+08:00", 42]``), opaque to the runner.

What polling by a column cannot see, and the table must therefore guarantee:
- rows whose column is NULL are never read: declare it NOT NULL;
- a row committed later with a column value below one already read (a long transaction
  that took its id or timestamp early) is missed: poll a column the database sets at
  commit time, or leave writers a margin (poll a view that hides the last seconds);
- a deleted row produces no record: departments send deletions as rows of their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from connectors.base import SourceRecord
from connectors.errors import RecordError, SourceError
from connectors.identity import check_digit
from connectors.sources.cells import cell_text, formula_error, length_error

SQL_SCHEME = "sql+"
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


class SqlTable:
    """One table, read ``batch_size`` rows per query after a checkpointed keyset position."""

    def __init__(
        self,
        engine: sa.Engine,
        table: str,
        column: str,
        key: str,
        *,
        schema: str | None = None,
        batch_size: int = 500,
        name: str | None = None,
    ) -> None:
        self.engine = engine
        self.table_name = table
        self.column_name = column
        self.key_name = key
        self.schema = schema
        self.batch_size = batch_size
        qualified = f"{schema}.{table}" if schema else table
        # The database name, never the URL: it may hold a password.
        self.name = name or f"sql:{engine.url.database or ''}/{qualified}#{column}"
        self._table: sa.Table | None = None

    def records(self, after: str | None = None) -> Iterator[SourceRecord]:
        """Yield rows after the keyset position ``after``, in ``(column, key)`` order."""
        table = self._reflect()
        column, key = table.c[self.column_name], table.c[self.key_name]
        last = _decode(after, column, key) if after is not None else None
        while True:
            query = sa.select(table).order_by(column, key).limit(self.batch_size)
            if last is not None:
                value, key_value = last
                query = query.where(
                    sa.or_(column > value, sa.and_(column == value, key > key_value))
                )
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(query).mappings().all()
            except sa.exc.SQLAlchemyError as exc:
                raise SourceError(f"{self.name}: polling failed: {type(exc).__name__}") from exc
            for row in rows:
                last = (row[self.column_name], row[self.key_name])
                yield _record(self.name, _encode(*last), row)
            if len(rows) < self.batch_size:
                return

    def _reflect(self) -> sa.Table:
        if self._table is None:
            try:
                table = sa.Table(
                    self.table_name, sa.MetaData(), autoload_with=self.engine, schema=self.schema
                )
            except sa.exc.NoSuchTableError:
                raise SourceError(f"{self.name}: the table does not exist") from None
            except sa.exc.SQLAlchemyError as exc:
                raise SourceError(f"{self.name}: cannot read the table: {exc}") from exc
            missing = [c for c in (self.column_name, self.key_name) if c not in table.c]
            if missing:
                raise SourceError(f"{self.name}: the table has no column {', '.join(missing)}")
            self._table = table
        return self._table


def _record(source: str, position: str, row: sa.RowMapping) -> SourceRecord:
    fields: dict[str, str | None] = {}
    errors: list[RecordError] = []
    for column, value in row.items():
        name = str(column)
        try:
            fields[name] = cell_text(value, name)
        except RecordError as error:
            errors.append(error)
    errors += [e for n, v in fields.items() if (e := length_error(n, v))]
    return SourceRecord(source, position, fields, errors[0] if errors else formula_error(fields))


def _encode(value: object, key: object) -> str:
    return json.dumps([_plain(value), _plain(key)], ensure_ascii=False)


def _plain(value: object) -> object:
    if isinstance(value, str) and _is_id_number(value):
        # Positions travel in clear in record headers: a key that is a resident ID number
        # would leak it. Such a table must be polled by a surrogate key.
        raise SourceError("the key or column polled by holds ID numbers; use a surrogate key")
    if value is None or isinstance(value, int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)  # Decimal, UUID, ...: rebuilt from text by the column's Python type


def _is_id_number(value: str) -> bool:
    text = value.strip().upper()
    return bool(_ID_NUMBER.match(text)) and check_digit(text[:17]) == text[17]


def _decode(position: str, column: sa.Column[Any], key: sa.Column[Any]) -> tuple[Any, Any]:
    """The keyset pair of a position, typed like the columns so the database compares values."""
    try:
        value, key_value = json.loads(position)
        return _typed(value, column), _typed(key_value, key)
    except (ValueError, TypeError) as exc:
        raise SourceError(
            f"checkpoint position {position!r} is not a keyset of this table"
        ) from exc


def _typed(value: Any, column: sa.Column[Any]) -> Any:
    if value is None:
        return None
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    return python_type(value)


def sql_source(uri: str, batch_size: int = 500) -> SqlTable:
    """A table from ``sql+<SQLAlchemy URL>?table=T&column=C&key=K[&schema=S]``.

    e.g. ``sql+postgresql+psycopg://clerk@db/registry?table=户籍业务&column=updated_at&key=id``;
    the other query parameters go to the database driver.
    """
    if not uri.startswith(SQL_SCHEME):
        raise SourceError(f"a SQL source starts with {SQL_SCHEME!r}")
    try:
        url = sa.engine.make_url(uri.removeprefix(SQL_SCHEME))
    except sa.exc.ArgumentError as exc:
        raise SourceError(f"not a database URL: {exc}") from None
    options = {name: url.query.get(name) for name in ("table", "column", "key", "schema")}
    if not all(isinstance(options[n], str) for n in ("table", "column", "key")):
        raise SourceError("a SQL source needs ?table=...&column=...&key=... in its URL")
    engine = sa.create_engine(url.difference_update_query(list(options)))
    return SqlTable(
        engine,
        str(options["table"]),
        str(options["column"]),
        str(options["key"]),
        schema=str(options["schema"]) if isinstance(options["schema"], str) else None,
        batch_size=batch_size,
    )
