"""What datong needs from a schema registry, whichever one it is.

``SchemaRegistry`` is what ``Serde`` needs (an id for a schema, a schema for an id);
``RegistryAdmin`` is what ``datong schemas check|register`` need. The embedded store
(``services.store.registry_store.SqlRegistry``) and the HTTP client
(``schemas.registry.http_client.HttpRegistry``) implement both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SubjectVersion:
    """One version of a subject: which schema id it holds, and the schema."""

    subject: str
    version: int
    schema_id: int
    schema_text: str
    deleted: bool = False


@dataclass(frozen=True)
class Registration:
    """The outcome of registering: ``created`` is False when the schema was already there."""

    subject: str
    schema_id: int
    version: int
    created: bool


class SchemaRegistry(Protocol):
    """What serde needs from a registry (embedded store or a remote Confluent-compatible one)."""

    def register(self, subject: str, schema_text: str) -> int:
        """The id of ``schema_text`` under ``subject``, registering it if the registry does."""
        ...

    def schema_text(self, schema_id: int) -> str:
        """The schema text registered under ``schema_id``."""
        ...


class RegistryAdmin(Protocol):
    """What ``datong schemas check|register`` need from a registry."""

    def live_versions(self, subject: str) -> list[SubjectVersion]:
        """The subject's live versions, oldest first ([] for an unknown subject)."""
        ...

    def compatibility(self, subject: str | None = None) -> str:
        """The compatibility level in force for ``subject``."""
        ...

    def register_version(self, subject: str, schema_text: str) -> Registration:
        """Register (idempotent), saying which version holds it and whether it is new."""
        ...
