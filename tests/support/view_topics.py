"""View records written straight onto the ``view.*`` topics, as the merge worker writes them,
for tests of the live path that need many changes fast (a backlog to replay)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from kafka import KafkaProducer

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.merge.encoding import ViewEncoder
from services.merge.rows import Change
from services.store.registry_store import SqlRegistry
from services.topics import ensure_topics, topic_specs
from tests.support.view_rows import SeedRow


def publish_view_rows(
    bootstrap: str, engine: sa.Engine, rows: Iterable[SeedRow], partitions: int = 4
) -> int:
    """Publish each row as its view topic's record (schemas registered in ``engine``'s
    registry, as the hub's are); create the topics first. Returns how many were sent."""
    catalog = Catalog.load()
    ensure_topics(bootstrap, topic_specs(catalog, partitions))
    encoder = ViewEncoder(Serde(catalog, SqlRegistry(engine)))
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    sent = 0
    try:
        for row in rows:
            record = encoder.record(
                Change(row.view, row.key, (row.data, row.provenance), row.community_code)
            )
            producer.send(record.topic, record.value, record.key, headers=record.headers)
            sent += 1
        producer.flush()
    finally:
        producer.close()
    return sent
