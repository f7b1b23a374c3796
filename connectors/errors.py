"""Errors raised by the connectors."""

from __future__ import annotations

from schemas.errors import DatongError


class ConnectorError(DatongError):
    """Root of the connectors' errors; a fatal one stops the connector."""


class SourceError(ConnectorError):
    """The source as a whole cannot be read (missing file, unknown encoding, no header)."""


class PublishError(ConnectorError):
    """The broker did not acknowledge records; nothing after the last checkpoint is lost."""


class RecordError(ConnectorError):
    """One record is invalid; it goes to the dead-letter topic and the batch goes on.

    ``field`` and ``reason`` are shown to the department in clear, so they never
    contain the value itself (it may be an ID number, a name or a phone number).
    ``code`` is a short, closed-set label for metrics.
    """

    def __init__(self, field: str, reason: str, code: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code
