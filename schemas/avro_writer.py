"""Avro binary encoding compiled from a schema into plain Python writers.

fastavro's writer resolves every union branch and converts every logical value through
generic code: a household view record took about 50 µs to encode, the worker's largest
single cost per change. Compiled once per schema for the shapes the contracts use (records,
enums, arrays, maps, ``["null", X]`` unions, ``date`` and ``timestamp-millis``), the same
bytes come out in less than half the time; and a small record of plain values, such as the
provenance every view field carries (a handful of distinct sources per record), is encoded
once and its bytes reused. ``compile_writer`` raises UnsupportedSchema for anything else, and
the caller keeps fastavro for it. Tests hold the bytes equal to fastavro's.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

Out = bytearray
Writer = Callable[[Out, Any], None]

_EPOCH_DAY = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE = struct.Struct("<d").pack
_FLOAT = struct.Struct("<f").pack
_CACHE_SIZE = 4096  # distinct small records remembered per record type, then forgotten


class UnsupportedSchemaError(ValueError):
    """The schema uses a construct this compiler does not (fastavro then encodes it)."""


def compile_writer(schema: Any) -> Callable[[Mapping[str, Any]], bytes]:
    """An encoder of records of ``schema`` (parsed JSON, named types inlined where defined)."""
    write = _compile(schema, {})

    def encode(record: Mapping[str, Any]) -> bytes:
        out = bytearray()
        write(out, record)
        return bytes(out)

    return encode


def write_long(out: Out, n: int) -> None:
    """Zig-zag varint, as Avro writes int and long."""
    n = (n << 1) ^ (n >> 63)
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _string(out: Out, value: str) -> None:
    data = value.encode()
    size = len(data)
    if size < 64:  # the usual string: its zig-zag length is one byte, no varint loop
        out.append(size << 1)
    else:
        write_long(out, size)
    out += data


def _bytes(out: Out, value: bytes) -> None:
    write_long(out, len(value))
    out += value


def _boolean(out: Out, value: bool) -> None:
    out.append(1 if value else 0)


def _double(out: Out, value: float) -> None:
    out += _DOUBLE(value)


def _float(out: Out, value: float) -> None:
    out += _FLOAT(value)


def _null(out: Out, value: None) -> None:
    if value is not None:
        raise TypeError(f"expected null, got {type(value).__name__}")


def _date(out: Out, value: date | int) -> None:
    write_long(out, value.toordinal() - _EPOCH_DAY if isinstance(value, date) else value)


def _timestamp_millis(out: Out, value: datetime | int) -> None:
    # Exactly fastavro's conversion: whole seconds, then the microseconds truncated to ms;
    # like fastavro, a time without a zone is taken as UTC.
    if isinstance(value, datetime):
        delta = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)) - _EPOCH
        value = (delta.days * 86400 + delta.seconds) * 1000 + int(delta.microseconds / 1000)
    write_long(out, value)


_PRIMITIVES: dict[str, Writer] = {
    "null": _null,
    "boolean": _boolean,
    "int": write_long,
    "long": write_long,
    "float": _float,
    "double": _double,
    "string": _string,
    "bytes": _bytes,
}
_LOGICAL: dict[tuple[str, str], Writer] = {
    ("int", "date"): _date,
    ("long", "timestamp-millis"): _timestamp_millis,
}


def _compile(schema: Any, named: dict[str, Writer]) -> Writer:
    if isinstance(schema, list):
        return _union(schema, named)
    if isinstance(schema, str):
        found = _PRIMITIVES.get(schema) or named.get(schema)
        if found is None:
            raise UnsupportedSchemaError(f"unknown type {schema!r}")
        return found
    kind = schema["type"]
    found = _LOGICAL.get((kind, schema.get("logicalType", "")))
    if found is None and isinstance(kind, str):
        found = _PRIMITIVES.get(kind) or _complex(kind, schema, named)
    if found is None:
        raise UnsupportedSchemaError(f"unsupported type {kind!r}")
    return found


def _complex(kind: str, schema: Mapping[str, Any], named: dict[str, Writer]) -> Writer | None:
    if kind == "array":
        return _array(_compile(schema["items"], named))
    if kind == "map":
        return _map(_compile(schema["values"], named))
    if kind == "record":
        return _record(schema, named)
    if kind == "enum":
        return _enum(schema, named)
    return None


def _names(schema: Mapping[str, Any]) -> list[str]:
    name = str(schema["name"])
    namespace = schema.get("namespace")
    return [name, f"{namespace}.{name}"] if namespace and "." not in name else [name]


def _record(schema: Mapping[str, Any], named: dict[str, Writer]) -> Writer:
    body: list[Writer] = []

    def late(out: Out, value: Any) -> None:  # a record may name itself in its fields
        body[0](out, value)

    for name in _names(schema):
        named[name] = late
    fields = tuple((f["name"], _compile(f["type"], named)) for f in schema["fields"])

    def write(out: Out, value: Mapping[str, Any]) -> None:
        for name, writer in fields:
            writer(out, value.get(name))

    plain = all(_plain(f["type"]) for f in schema["fields"])
    written = _remembered(write, [n for n, _ in fields]) if plain else write
    body.append(written)
    for name in _names(schema):
        named[name] = written
    return written


def _plain(schema: Any) -> bool:
    """A primitive or logical type: its bytes follow from a hashable value."""
    if isinstance(schema, str):
        return schema in _PRIMITIVES
    if isinstance(schema, dict):
        return (str(schema.get("type")), str(schema.get("logicalType", ""))) in _LOGICAL
    return False


def _remembered(write: Writer, names: list[str]) -> Writer:
    """A writer of a record of plain values that reuses the bytes of values seen before."""
    seen: dict[tuple[Any, ...], bytes] = {}

    def remembered(out: Out, value: Mapping[str, Any]) -> None:
        key = tuple(value.get(n) for n in names)
        # Only values whose type fixes their bytes: 1, 1.0 and True are equal keys.
        if not all(type(k) is str or type(k) is int for k in key):
            write(out, value)
            return
        found = seen.get(key)
        if found is None:
            fresh = bytearray()
            write(fresh, value)
            found = bytes(fresh)
            if len(seen) >= _CACHE_SIZE:
                seen.clear()
            seen[key] = found
        out += found

    return remembered


def _enum(schema: Mapping[str, Any], named: dict[str, Writer]) -> Writer:
    index = {symbol: i for i, symbol in enumerate(schema["symbols"])}

    def write(out: Out, value: str) -> None:
        write_long(out, index[value])

    for name in _names(schema):
        named[name] = write
    return write


def _array(items: Writer) -> Writer:
    def write(out: Out, value: Any) -> None:
        if value:
            write_long(out, len(value))
            for item in value:
                items(out, item)
        out.append(0)

    return write


def _map(values: Writer) -> Writer:
    def write(out: Out, value: Mapping[str, Any]) -> None:
        if value:
            write_long(out, len(value))
            for key, item in value.items():
                _string(out, key)
                values(out, item)
        out.append(0)

    return write


def _optional_string(out: Out, value: str | None) -> None:
    """``["null", "string"]``, the most common union, without a call per branch."""
    if value is None:
        out.append(0)
        return
    data = value.encode()
    size = len(data)
    if size < 64:
        out.append(2)  # branch 1, zig-zag
        out.append(size << 1)
    else:
        out.append(2)
        write_long(out, size)
    out += data


def _union(branches: list[Any], named: dict[str, Writer]) -> Writer:
    if len(branches) != 2 or branches[0] != "null":
        raise UnsupportedSchemaError(f"unsupported union {branches!r}")
    other = _compile(branches[1], named)
    if other is _string:
        return _optional_string

    def write(out: Out, value: Any) -> None:
        if value is None:
            out.append(0)
        else:
            out.append(2)  # branch 1, zig-zag
            other(out, value)

    return write
