"""The embedded schema registry's store, kept in the view database (Confluent semantics).

Ids are assigned once per distinct schema and never change, so records written before a
restart still decode after it. Subjects hold versions; a version is soft-deleted first
and only then may be deleted permanently. Registering checks the subject's compatibility
level with ``schemas.compat``. Its tables (``registry_tables``) are created and upgraded
with the rest of the view store (``database.create_schema``); the REST face (Confluent's
API) sits on top, in ``services.api.registry_routes``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError

from schemas import compat
from schemas.errors import RegistryError
from schemas.registry.errors import (
    IncompatibleSchemaError,
    InvalidCompatibilityLevelError,
    RegistryUnreachableError,
    SchemaNotFoundError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from schemas.registry.levels import DEFAULT_LEVEL, default_level
from schemas.registry.port import Registration, SubjectVersion
from services.store.registry_tables import config_table, schema_table, version_table
from services.store.registry_versions import (
    canonical,
    insert_version,
    schema_fingerprint,
    version_rows,
)

T = TypeVar("T")
_GLOBAL = ""  # the config row of the registry as a whole


class SqlRegistry:
    """The embedded registry store: schemas, subject versions and levels in the view database."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def register(self, subject: str, schema_text: str) -> int:
        """Register ``schema_text`` under ``subject``; the same schema keeps its id and version."""
        return self.register_version(subject, schema_text).schema_id

    def register_version(self, subject: str, schema_text: str) -> Registration:
        """Register (idempotent); IncompatibleSchemaError when it breaks the subject's level."""
        text = canonical(schema_text)
        for _ in range(5):  # another process may register the same schema concurrently
            try:
                return self._run(
                    lambda conn: self._register_once(conn, subject, text), conflicts=True
                )
            except IntegrityError:
                continue
        raise RegistryError(f"registering {subject}: kept colliding with concurrent writers")

    def _register_once(self, conn: sa.Connection, subject: str, text: str) -> Registration:
        fingerprint = schema_fingerprint(text)
        schema_id = conn.execute(
            sa.select(schema_table.c.id).where(schema_table.c.fingerprint == fingerprint)
        ).scalar()
        live = conn.execute(version_rows(subject).where(version_table.c.deleted.is_(False))).all()
        for row in live:
            if row.schema_id == schema_id:
                return Registration(subject, int(row.schema_id), row.version, created=False)
        found = compat.incompatibilities(
            text,
            [r.schema_text for r in live],
            self._level(conn, subject),
            [r.version for r in live],
        )
        if found:
            reasons = [str(i) for i in found]
            raise IncompatibleSchemaError(
                f"schema being registered is incompatible with an earlier schema for subject "
                f"{subject!r}: " + "; ".join(reasons),
                reasons,
            )
        return insert_version(conn, subject, text, fingerprint, schema_id)

    def schema_text(self, schema_id: int) -> str:
        """The schema registered under ``schema_id``; SchemaNotFoundError when unknown."""
        text = self._run(
            lambda conn: conn.execute(
                sa.select(schema_table.c.schema_text).where(schema_table.c.id == schema_id)
            ).scalar()
        )
        if text is None:
            raise SchemaNotFoundError(f"schema id {schema_id} is not in the registry")
        return str(text)

    def subjects(self, deleted: bool = False) -> list[str]:
        """Subjects with a live version (and soft-deleted ones when ``deleted``)."""
        query = sa.select(version_table.c.subject).distinct().order_by(version_table.c.subject)
        if not deleted:
            query = query.where(version_table.c.deleted.is_(False))
        return [str(s) for s in self._run(lambda conn: conn.execute(query).scalars().all())]

    def subject_versions(self, subject: str, deleted: bool = False) -> list[SubjectVersion]:
        """The subject's versions, oldest first; SubjectNotFoundError when it has none."""
        found = [v for v in self._rows(subject) if deleted or not v.deleted]
        if not found:
            raise SubjectNotFoundError(f"subject {subject!r} not found")
        return found

    def live_versions(self, subject: str) -> list[SubjectVersion]:
        """The subject's live versions, oldest first ([] for an unknown subject)."""
        return [v for v in self._rows(subject) if not v.deleted]

    def version(self, subject: str, version: int | None, deleted: bool = False) -> SubjectVersion:
        """One version (None = the latest); SubjectNotFoundError / VersionNotFoundError."""
        versions = self.subject_versions(subject, deleted)
        if version is None:
            return versions[-1]
        for found in versions:
            if found.version == version:
                return found
        raise VersionNotFoundError(f"subject {subject!r} has no version {version}")

    def _rows(self, subject: str) -> list[SubjectVersion]:
        rows = self._run(lambda conn: conn.execute(version_rows(subject)).all())
        return [SubjectVersion(subject, r[0], int(r[1]), str(r[2]), bool(r[3])) for r in rows]

    def lookup(self, subject: str, schema_text: str, deleted: bool = False) -> SubjectVersion:
        """The version of ``subject`` holding this schema; SchemaNotFoundError when none."""
        text = canonical(schema_text)
        for found in reversed(self.subject_versions(subject, deleted)):
            if found.schema_text == text:
                return found
        raise SchemaNotFoundError(f"schema not found under subject {subject!r}")

    def test_compatibility(
        self, subject: str, schema_text: str, version: int | None = None
    ) -> list[compat.Incompatibility]:
        """How the schema would break the subject's level.

        Against ``version`` when given, else against the versions the level names (the
        latest, or every live one when transitive). SubjectNotFoundError / VersionNotFoundError.
        """
        text = canonical(schema_text)
        if version is None:
            versions = self.subject_versions(subject)
        else:
            versions = [self.version(subject, version)]
        return compat.incompatibilities(
            text,
            [v.schema_text for v in versions],
            self.compatibility(subject),
            [v.version for v in versions],
        )

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """Soft-delete every version, or remove them once soft-deleted; the versions hit."""
        every = self.subject_versions(subject, deleted=True)
        live = [v.version for v in every if not v.deleted]
        if not permanent and not live:
            raise SubjectSoftDeletedError(
                f"subject {subject!r} was soft deleted; set permanent=true to delete permanently"
            )
        if permanent and live:
            raise SubjectNotSoftDeletedError(
                f"subject {subject!r} was not deleted first before being permanently deleted; "
                "delete it without permanent=true first"
            )
        where = version_table.c.subject == subject

        def apply(conn: sa.Connection) -> None:
            if permanent:
                conn.execute(version_table.delete().where(where))
                conn.execute(config_table.delete().where(config_table.c.subject == subject))
            else:
                conn.execute(version_table.update().where(where).values(deleted=True))

        self._run(apply)
        return [v.version for v in every] if permanent else live

    def delete_version(self, subject: str, version: int | None, permanent: bool = False) -> int:
        """Soft-delete one version (None = latest), or remove it once soft-deleted."""
        found = self.version(subject, version, deleted=version is not None or permanent)
        name = f"subject {subject!r} version {found.version}"
        if found.deleted and not permanent:
            raise VersionSoftDeletedError(
                f"{name} was soft deleted; set permanent=true to delete permanently"
            )
        if permanent and not found.deleted:
            raise VersionNotSoftDeletedError(
                f"{name} was not deleted first before being permanently deleted; "
                "delete it without permanent=true first"
            )
        where = sa.and_(
            version_table.c.subject == subject, version_table.c.version == found.version
        )
        if permanent:
            self._run(lambda conn: conn.execute(version_table.delete().where(where)))
        else:
            update = version_table.update().where(where).values(deleted=True)
            self._run(lambda conn: conn.execute(update))
        return found.version

    def compatibility(self, subject: str | None = None) -> str:
        """The level in force for ``subject`` (its own, a view's default, else the global one)."""
        return self._run(lambda conn: self._level(conn, subject))

    def _level(self, conn: sa.Connection, subject: str | None) -> str:
        rows = dict(
            conn.execute(
                sa.select(config_table.c.subject, config_table.c.compatibility).where(
                    config_table.c.subject.in_([_GLOBAL, subject or _GLOBAL])
                )
            ).all()
        )
        if subject and subject in rows:
            return str(rows[subject])
        return (subject and default_level(subject)) or str(rows.get(_GLOBAL, DEFAULT_LEVEL))

    def set_compatibility(self, level: str, subject: str | None = None) -> str:
        """Set the level of ``subject`` (or the global one); refuses an unknown level."""
        try:
            compat.check_level(level)
        except compat.UnknownLevelError as exc:
            raise InvalidCompatibilityLevelError(str(exc)) from exc
        key = subject or _GLOBAL

        def apply(conn: sa.Connection) -> None:
            conn.execute(config_table.delete().where(config_table.c.subject == key))
            conn.execute(config_table.insert().values(subject=key, compatibility=level))

        self._run(apply)
        return level

    def delete_compatibility(self, subject: str) -> str:
        """Drop the subject's own level; returns the level it had."""
        before = self.compatibility(subject)
        self._run(
            lambda conn: conn.execute(
                config_table.delete().where(config_table.c.subject == subject)
            )
        )
        return before

    def _run(self, work: Callable[[sa.Connection], T], conflicts: bool = False) -> T:
        """Run ``work`` in one transaction; database failures become RegistryError
        (RegistryUnreachableError when the database cannot be reached).

        With ``conflicts`` an IntegrityError (a concurrent writer won) passes through for
        the caller to retry.
        """
        try:
            with self._engine.begin() as conn:
                return work(conn)
        except IntegrityError as exc:
            if conflicts:
                raise
            raise RegistryError(
                f"schema registry database: a concurrent change won: {exc}"
            ) from exc
        except RegistryError:
            raise
        except (OperationalError, InterfaceError) as exc:
            # The database is down, restarting or out of connections: the schema a reader
            # asked for has not changed, so this is worth waiting for, never a verdict.
            raise RegistryUnreachableError(f"schema registry database unreachable: {exc}") from exc
        except SQLAlchemyError as exc:
            raise RegistryError(f"schema registry database: {exc}") from exc
