"""Errors raised by the services; each message says what an operator can do about it."""


class DatongError(Exception):
    """Root of the services' errors."""


class ConfigError(DatongError):
    """A ``DATONG_*`` setting is missing or malformed."""


class BrokerError(DatongError):
    """The Kafka broker could not be started or reached."""


class StoreError(DatongError):
    """The view store could not be read or written."""
