"""How source records are produced: the kafka-python producer options, in one place.

The connectors' producer (``connectors/publisher.py``) uses them, and so does the bench's
raw kafka-python producer, its limit (``services/bench/producers.py``): a publish-rate
ratio then measures what the connector adds per record, never a difference in tuning.
Both import them from here, the package both sides may import.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

KAFKA_PYTHON_OPTIONS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        # Exactly once across restarts rests on these: a record is acknowledged only when
        # every in-sync replica has it, and a retried batch is never written twice.
        "acks": "all",
        "enable_idempotence": True,
        # Five is the most in-flight requests that still keeps order under idempotence.
        "max_in_flight_requests_per_connection": 5,
        # A file is read far faster than a request round trip: wait 5 ms for a batch to fill,
        # and let a batch grow to 256 KiB (about 800 registry records) before it is sent.
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        # kafka-python's default, stated so that both producers visibly send the same
        # (uncompressed) batches; compressing would cost CPU on the connector's own core.
        "compression_type": None,
    }
)
