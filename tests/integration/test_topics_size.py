"""`datong topics size` measures the events on the broker, as a Kafka log would hold them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer

from schemas.catalog import Catalog
from services.cli import main
from services.topics import ensure_topics, topic_specs

pytestmark = pytest.mark.integration


def test_topics_size_reports_every_event_of_the_source_topics(
    start_broker: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bootstrap = start_broker()
    ensure_topics(bootstrap, topic_specs(Catalog.load(), 2))
    topic = "src.health.quarantine-ordered"
    values = [b"\x00\x00\x00\x00\x01" + bytes(40 + n) for n in range(3)]
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        for n, value in enumerate(values):
            producer.send(topic, key=f"p{n}".encode(), value=value, headers=[("ce_id", b"e")])
        producer.flush()
    finally:
        producer.close()
    monkeypatch.setenv("DATONG_KAFKA_BOOTSTRAP", bootstrap)
    monkeypatch.setenv("DATONG_VAR_DIR", str(tmp_path))

    assert main(["topics", "size", "--json"]) == 0

    (measured,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert measured["topic"] == topic
    assert measured["records"] == 3
    assert measured["value_bytes"] == sum(len(v) for v in values)
    # Each record is larger on the log than its value: key, headers, lengths, a batch header.
    assert measured["bulk_log_bytes"] > measured["value_bytes"] + 3 * len(b"ce_id" + b"e")
    assert measured["single_log_bytes"] >= measured["bulk_log_bytes"]


def test_topics_size_says_what_to_do_on_an_empty_broker(
    start_broker: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATONG_KAFKA_BOOTSTRAP", start_broker())
    monkeypatch.setenv("DATONG_VAR_DIR", str(tmp_path))

    assert main(["topics", "size"]) == 2
    assert "feed it first" in capsys.readouterr().err
