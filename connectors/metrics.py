"""Connector metrics (DESIGN §5) on the registry the process hands in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class ConnectorMetrics:
    """Records published, rejected and dead-lettered, labelled by closed sets only."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "datong_connector_records",
            "Source records handled by connectors, by outcome (published, rejected).",
            ["department", "event", "outcome"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "datong_dlq_records",
            "Records sent to a department's dead-letter topic, by reason code.",
            ["department", "reason"],
            registry=registry,
        )
