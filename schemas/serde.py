"""Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary.

Schemas are parsed once per id and cached; decoding uses the writer's schema from the
id and the reader's schema from the catalog, so records written before a schema
evolution still decode. Encoding uses a schema parsed once with fastavro's write hint:
the catalog's parse lacks it, and ``schemaless_writer`` parses an unhinted schema again
on every call (that was half of an encode).
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable, Mapping
from typing import Any

import fastavro
from fastavro.validation import ValidationError, validate

from schemas.avro_writer import UnsupportedSchemaError, compile_writer
from schemas.catalog import Catalog, Contract
from schemas.errors import DecodeError, EncodeError
from schemas.registry.port import SchemaRegistry

MAGIC = 0
_HEADER = struct.Struct(">bI")


class Serde:
    """Encodes and decodes records of the catalog's contracts through a registry."""

    def __init__(self, catalog: Catalog, registry: SchemaRegistry) -> None:
        self.catalog = catalog
        self._registry = registry
        self._ids: dict[str, int] = {}
        self._writers: dict[int, Any] = {}
        self._readers: dict[str, Any] = {}
        # Per value subject: the frame's first five bytes and the write-hinted schema.
        self._encoders: dict[str, tuple[bytes, Callable[[Mapping[str, Any]], bytes]]] = {}

    def schema_id(self, contract: Contract) -> int:
        """The registry id of the contract's current schema (registered on first use)."""
        schema_id = self._ids.get(contract.value_subject)
        if schema_id is None:
            schema_id = self._registry.register(contract.value_subject, contract.schema_text)
            self._ids[contract.value_subject] = schema_id
        return schema_id

    def check(self, contract: Contract, record: Mapping[str, Any]) -> None:
        """Raise EncodeError naming the field when ``record`` does not fit the contract."""
        try:
            validate(record, contract.parsed, raise_errors=True)
        except ValidationError as exc:
            raise EncodeError(_describe(contract, exc), _first_field(contract, exc)) from exc

    def encode(self, contract: Contract, record: Mapping[str, Any]) -> bytes:
        """Confluent-framed Avro bytes of ``record``; EncodeError names the bad field."""
        encoder = self._encoders.get(contract.value_subject)
        if encoder is None:
            encoder = self._encoders[contract.value_subject] = self._encoder(contract)
        frame, write = encoder
        try:
            return frame + write(record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.check(contract, record)  # gives the field-level reason when there is one
            raise EncodeError(f"{contract.full_name}: {exc}") from exc

    def _encoder(self, contract: Contract) -> tuple[bytes, Callable[[Mapping[str, Any]], bytes]]:
        frame = _HEADER.pack(MAGIC, self.schema_id(contract))
        try:
            return frame, compile_writer(contract.schema)
        except UnsupportedSchemaError:
            hinted = fastavro.parse_schema(contract.schema)  # the hint marks it parsed

            def write(record: Mapping[str, Any]) -> bytes:
                buf = io.BytesIO()
                fastavro.schemaless_writer(buf, hinted, record)
                return buf.getvalue()

            return frame, write

    def decode(self, contract: Contract, payload: bytes) -> dict[str, Any]:
        """Decode Confluent-framed bytes into a record of the contract's (reader) schema."""
        if len(payload) < _HEADER.size or payload[0] != MAGIC:
            raise DecodeError(f"{contract.topic}: not Confluent-framed Avro (bad magic byte)")
        _, schema_id = _HEADER.unpack_from(payload)
        writer = self._writer(schema_id)
        reader = (
            None if self._ids.get(contract.value_subject) == schema_id else self._reader(contract)
        )
        try:
            record = fastavro.schemaless_reader(io.BytesIO(payload[_HEADER.size :]), writer, reader)
        except Exception as exc:  # fastavro raises many types on corrupt or unresolvable data
            raise DecodeError(
                f"{contract.topic}: cannot decode with schema {schema_id}: {exc}"
            ) from exc
        if not isinstance(record, dict):
            raise DecodeError(f"{contract.topic}: schema {schema_id} does not describe a record")
        return record

    def _reader(self, contract: Contract) -> Any:
        reader = self._readers.get(contract.value_subject)
        if reader is None:
            reader = self._readers[contract.value_subject] = fastavro.parse_schema(contract.schema)
        return reader

    def _writer(self, schema_id: int) -> Any:
        writer = self._writers.get(schema_id)
        if writer is None:
            # Parsed once with fastavro's hint: without it fastavro parses again per record.
            writer = fastavro.parse_schema(json.loads(self._registry.schema_text(schema_id)))
            self._writers[schema_id] = writer
        return writer


def _describe(contract: Contract, exc: ValidationError) -> str:
    """'field: reason' for each failure, naming types only: the value may be personal data."""
    reasons = []
    for error in exc.errors:
        name = str(getattr(error, "field", "?")).removeprefix(contract.full_name + ".")
        expected = _expected(getattr(error, "schema", None))
        got = type(getattr(error, "datum", None)).__name__
        reasons.append(f"field {name!r}: expected {expected}, got a value of type {got}")
    return f"{contract.full_name}: " + "; ".join(reasons)


def _first_field(contract: Contract, exc: ValidationError) -> str:
    for error in exc.errors:
        return str(getattr(error, "field", "?")).removeprefix(contract.full_name + ".")
    return "?"


def _expected(schema: Any) -> str:
    if isinstance(schema, dict):
        if schema.get("type") == "enum":
            return "one of " + ", ".join(schema.get("symbols", []))
        return str(schema.get("logicalType") or schema.get("type"))
    if isinstance(schema, list):
        return " or ".join(_expected(s) for s in schema)
    return str(schema)
