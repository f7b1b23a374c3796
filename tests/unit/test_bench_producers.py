"""The raw producers of the connector's limit send with the connector's own options."""

from __future__ import annotations

import pytest

from schemas.producing import KAFKA_PYTHON_OPTIONS
from services.bench.producers import librdkafka_options
from services.errors import DatongError


def test_librdkafka_gets_each_option_of_the_connector_under_its_own_name() -> None:
    options = {"acks": "all", "linger_ms": 5, "compression_type": "lz4", "batch_size": 65536}

    assert librdkafka_options(options) == {
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "lz4",
        "batch.size": 65536,
    }


def test_every_option_the_connector_sends_with_has_a_librdkafka_counterpart() -> None:
    assert len(librdkafka_options(KAFKA_PYTHON_OPTIONS)) == len(KAFKA_PYTHON_OPTIONS)


def test_an_option_without_a_counterpart_is_refused_by_name_not_dropped() -> None:
    with pytest.raises(DatongError, match="buffer_memory"):
        librdkafka_options({"acks": "all", "buffer_memory": 1 << 25})
