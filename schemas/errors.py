"""Errors raised by the contracts package, and the root of every datong error."""


class DatongError(Exception):
    """Root of datong's own errors; the message says what an operator can do about it.

    The ``datong`` command prints one without a traceback and exits 2; anything else that
    reaches it is a bug and keeps its traceback.
    """


class SchemaError(DatongError):
    """Root of the contracts' errors."""


class CatalogError(SchemaError):
    """A schema file is missing, does not parse, or breaks a catalog convention."""


class EncodeError(SchemaError):
    """A record does not match its schema; the message and ``field`` name the field."""

    def __init__(self, message: str, field: str = "?") -> None:
        super().__init__(message)
        self.field = field


class DecodeError(SchemaError):
    """Bytes on a topic are not a Confluent-framed Avro record we can read."""


class RegistryError(SchemaError):
    """The schema registry refused a request or could not be reached."""
