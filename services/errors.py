"""Errors raised by the services; each message says what an operator can do about it."""

from schemas.errors import DatongError


class ServiceError(DatongError):
    """Root of the services' errors."""


class ConfigError(ServiceError):
    """A ``DATONG_*`` setting is missing or malformed."""


class BrokerError(ServiceError):
    """The Kafka broker could not be started or reached."""


class MissingTopicsError(BrokerError):
    """Topics the process needs do not exist, and it may not create them."""


class StoreError(ServiceError):
    """The view store could not be read or written."""


__all__ = [
    "BrokerError",
    "ConfigError",
    "DatongError",
    "MissingTopicsError",
    "ServiceError",
    "StoreError",
]
