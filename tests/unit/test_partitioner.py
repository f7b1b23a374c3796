"""The connector's partitioner puts every key where other Kafka clients would.

Two independent references: kafka-python's own pure-Python ``murmur2`` and default
partitioner, and librdkafka's ``murmur2`` partitioner (confluent-kafka), the Java
client's choice in C.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import confluent_kafka
import pytest
from kafka.partitioner.default import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from connectors.identity import person_key
from connectors.partitioner import murmur2, partition_for, pick_partition
from tests.support.factories import resident_id


def keys() -> list[bytes]:
    """Every tail length, random bytes, and keys as the connectors make them."""
    rng = random.Random(20240305)
    found = [rng.randbytes(length) for length in range(130) for _ in range(8)]
    found += [person_key(resident_id(i), b"k" * 32).encode() for i in range(500)]
    found += [f"D-{i:06d}".encode() for i in range(200)]  # dwelling ids
    found += ["幸福里3栋2单元502".encode(), "/drop/户籍业务导出.csv#17".encode()]  # dead letters
    return found


KEYS = keys()


@dataclass(frozen=True)
class Cluster:
    """What kafka-python's DefaultPartitioner asks of its cluster metadata."""

    partitions: frozenset[int]

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, _topic: str) -> set[int]:
        return set(self.partitions)

    def available_partitions_for_topic(self, _topic: str) -> set[int]:
        return set(self.partitions)


def test_murmur2_is_kafka_pythons_for_every_key() -> None:
    assert [murmur2(key) for key in KEYS] == [kafka_python_murmur2(key) for key in KEYS]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 12, 64])
def test_partition_is_kafka_pythons_default_partitioners(count: int) -> None:
    cluster = Cluster(frozenset(range(count)))
    reference = DefaultPartitioner()
    expected = [reference.partition("t", key, key, None, None, cluster) for key in KEYS]
    assert [partition_for(key, cluster.partitions) for key in KEYS] == expected


@pytest.mark.parametrize("count", [1, 3, 4, 12])
def test_partition_is_librdkafkas_murmur2_partitioners(count: int) -> None:
    expected = [confluent_kafka.murmur2(key, count) for key in KEYS]
    assert [partition_for(key, set(range(count))) for key in KEYS] == expected


@pytest.mark.parametrize("count", [1, 4, 12])
def test_picking_among_partitions_sorted_once_is_kafka_pythons_default_partitioners(
    count: int,
) -> None:
    """What the publisher does: the topic's partitions sorted once, then a pick per key."""
    cluster = Cluster(frozenset(range(count)))
    reference = DefaultPartitioner()
    expected = [reference.partition("t", key, key, None, None, cluster) for key in KEYS]
    ordered = sorted(cluster.partitions)
    assert [pick_partition(key, ordered) for key in KEYS] == expected
