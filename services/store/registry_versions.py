"""A subject's versions in the embedded registry's tables: a schema's stored form and the
fingerprint it is kept under once, the select of a subject's versions and the insert of its
next one. ``registry_store.py`` runs them in its transactions.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from schemas import compat
from schemas.registry.errors import InvalidSchemaError
from schemas.registry.port import Registration
from services.store.registry_tables import schema_table, version_table


def canonical(schema_text: str) -> str:
    """The stored form of a schema: valid Avro, compact JSON; InvalidSchemaError says why not."""
    try:
        compat.parse_schema(schema_text)
    except compat.InvalidSchemaTextError as exc:
        raise InvalidSchemaError(f"{exc}") from exc
    return json.dumps(json.loads(schema_text), ensure_ascii=False, separators=(",", ":"))


def schema_fingerprint(schema_text: str) -> str:
    """The key a schema is stored under once, whatever subjects name it."""
    return hashlib.sha256(schema_text.encode()).hexdigest()


def version_rows(subject: str) -> sa.Select[int, int, str, bool]:
    """The subject's version rows with their schema text, oldest first."""
    return (
        sa.select(
            version_table.c.version,
            version_table.c.schema_id,
            schema_table.c.schema_text,
            version_table.c.deleted,
        )
        .join(schema_table, schema_table.c.id == version_table.c.schema_id)
        .where(version_table.c.subject == subject)
        .order_by(version_table.c.version)
    )


def insert_version(
    conn: sa.Connection, subject: str, text: str, fingerprint: str, schema_id: int | None
) -> Registration:
    """Store the schema (once) and add it to ``subject`` as its next version."""
    if schema_id is None:
        inserted = conn.execute(
            schema_table.insert().values(fingerprint=fingerprint, schema_text=text)
        ).inserted_primary_key
        assert inserted is not None  # an INSERT always reports its primary key
        schema_id = int(inserted[0])
    latest = conn.execute(
        sa.select(sa.func.max(version_table.c.version)).where(version_table.c.subject == subject)
    ).scalar()
    version = (latest or 0) + 1  # numbers are not reused while any version row remains
    conn.execute(
        version_table.insert().values(
            subject=subject, version=version, schema_id=schema_id, deleted=False
        )
    )
    return Registration(subject, schema_id, version, created=True)
