"""The kafka-python producer options of every connector, in one place.

``KafkaPublisher`` sends with these, and the bench's raw kafka-python producer (the
connector's publish-rate limit) sends with exactly the same ones: a change of tuning
here moves both sides of that ratio, so the ratio keeps measuring what the connector
adds per event rather than a difference in producer settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

PRODUCER_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_in_flight_requests_per_connection": 5,
    }
)
