"""The registry's refusals, one class per Confluent error code, and its unreachability.

A refusal carries Confluent's ``error_code`` (40401 subject not found, 409 incompatible,
...): the embedded registry answers with it, and the HTTP client turns an answer back
into the same class (``ERRORS_BY_CODE``), so callers catch one type whichever registry
they talk to. ``RegistryError``, the root, is in ``schemas.errors``.
"""

from __future__ import annotations

from schemas.errors import RegistryError


class RegistryUnreachableError(RegistryError):
    """No answer from the registry at all (refused, timed out): worth waiting for."""


class RegistryRequestError(RegistryError):
    """A request the registry refuses; ``error_code`` is Confluent's code for it."""

    error_code = 50001

    def __init__(self, message: str, error_code: int | None = None) -> None:
        super().__init__(message)
        if error_code is not None:
            self.error_code = error_code

    @property
    def http_status(self) -> int:
        """The HTTP status Confluent answers with (40401 -> 404, 409 -> 409)."""
        return self.error_code // 100 if self.error_code >= 10000 else self.error_code


class SubjectNotFoundError(RegistryRequestError):
    """The subject has no (live) version."""

    error_code = 40401


class VersionNotFoundError(RegistryRequestError):
    """The subject has no such (live) version."""

    error_code = 40402


class SchemaNotFoundError(RegistryRequestError):
    """No schema with that id, or the schema is not registered under the subject."""

    error_code = 40403


class SubjectSoftDeletedError(RegistryRequestError):
    """The subject was already soft-deleted; delete it with permanent=true."""

    error_code = 40404


class SubjectNotSoftDeletedError(RegistryRequestError):
    """A permanent delete of a subject that was not soft-deleted first."""

    error_code = 40405


class VersionSoftDeletedError(RegistryRequestError):
    """The version was already soft-deleted; delete it with permanent=true."""

    error_code = 40406


class VersionNotSoftDeletedError(RegistryRequestError):
    """A permanent delete of a version that was not soft-deleted first."""

    error_code = 40407


class IncompatibleSchemaError(RegistryRequestError):
    """The schema breaks the subject's compatibility level; ``reasons`` say how."""

    error_code = 409

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


class InvalidSchemaError(RegistryRequestError):
    """The schema text is not a valid Avro schema."""

    error_code = 42201


class InvalidVersionError(RegistryRequestError):
    """A version that is neither a positive integer nor "latest"."""

    error_code = 42202


class InvalidCompatibilityLevelError(RegistryRequestError):
    """A compatibility level that is not one of Confluent's seven."""

    error_code = 42203


class InvalidSubjectError(RegistryRequestError):
    """A subject name the registry cannot hold (too long, or empty)."""

    error_code = 42208


ERRORS_BY_CODE: dict[int, type[RegistryRequestError]] = {
    cls.error_code: cls
    for cls in (
        SubjectNotFoundError,
        VersionNotFoundError,
        SchemaNotFoundError,
        SubjectSoftDeletedError,
        SubjectNotSoftDeletedError,
        VersionSoftDeletedError,
        VersionNotSoftDeletedError,
        IncompatibleSchemaError,
        InvalidSchemaError,
        InvalidVersionError,
        InvalidCompatibilityLevelError,
        InvalidSubjectError,
    )
}
