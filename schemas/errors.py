"""Errors raised by the contracts package."""


class SchemaError(Exception):
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
