"""Schema ids: the embedded registry's store, kept in the view database.

Ids are assigned once per distinct schema text and never change, so records written
before a restart still decode after it. The REST face (Confluent's API) sits on top.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from schemas.errors import RegistryError

metadata = sa.MetaData()

schema_table = sa.Table(
    "registry_schema",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("schema_text", sa.Text, nullable=False),
)

version_table = sa.Table(
    "registry_subject_version",
    metadata,
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema_id", sa.Integer, sa.ForeignKey("registry_schema.id"), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
)


class SchemaRegistry(Protocol):
    """What serde needs from a registry (embedded store or a remote Confluent-compatible one)."""

    def register(self, subject: str, schema_text: str) -> int:
        """Register ``schema_text`` under ``subject`` (idempotent) and return its id."""
        ...

    def schema_text(self, schema_id: int) -> str:
        """The schema text registered under ``schema_id``."""
        ...


def _fingerprint(schema_text: str) -> str:
    return hashlib.sha256(schema_text.encode()).hexdigest()


class SqlRegistry:
    """The embedded registry store: schemas and subject versions in the view database."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        metadata.create_all(engine)

    def register(self, subject: str, schema_text: str) -> int:
        """Register ``schema_text`` under ``subject``; the same text keeps its id and version."""
        for _ in range(5):  # another process may register the same schema concurrently
            try:
                return self._register_once(subject, schema_text)
            except IntegrityError:
                continue
            except SQLAlchemyError as exc:
                raise RegistryError(f"registering {subject}: {exc}") from exc
        raise RegistryError(f"registering {subject}: kept colliding with concurrent writers")

    def _register_once(self, subject: str, schema_text: str) -> int:
        fingerprint = _fingerprint(schema_text)
        with self._engine.begin() as conn:
            schema_id = conn.execute(
                sa.select(schema_table.c.id).where(schema_table.c.fingerprint == fingerprint)
            ).scalar()
            if schema_id is None:
                inserted = conn.execute(
                    schema_table.insert().values(fingerprint=fingerprint, schema_text=schema_text)
                ).inserted_primary_key
                assert inserted is not None  # an INSERT always reports its primary key
                schema_id = inserted[0]
            versions = conn.execute(
                sa.select(version_table.c.version, version_table.c.schema_id).where(
                    version_table.c.subject == subject, version_table.c.deleted.is_(False)
                )
            ).all()
            if any(row.schema_id == schema_id for row in versions):
                return int(schema_id)
            latest = conn.execute(
                sa.select(sa.func.max(version_table.c.version)).where(
                    version_table.c.subject == subject
                )
            ).scalar()
            conn.execute(
                version_table.insert().values(
                    subject=subject, version=(latest or 0) + 1, schema_id=schema_id, deleted=False
                )
            )
            return int(schema_id)

    def schema_text(self, schema_id: int) -> str:
        """The schema registered under ``schema_id``; RegistryError when unknown."""
        with self._engine.connect() as conn:
            text = conn.execute(
                sa.select(schema_table.c.schema_text).where(schema_table.c.id == schema_id)
            ).scalar()
        if text is None:
            raise RegistryError(f"schema id {schema_id} is not in the registry")
        return str(text)
