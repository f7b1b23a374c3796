"""A department's connector built from the settings: its mapping, its state store, its
publisher to the broker (a composition root: it joins connectors to the hub's settings).

It opens the connectors' state store and a schema registry over HTTP, never the view store.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from services.cli.keys import verify_keys
from services.errors import DatongError
from services.settings import Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from connectors.mappings import MapperFactory
    from connectors.publisher import KafkaPublisher
    from connectors.runner import Runner

log = logging.getLogger("datong")


def connector_for(
    department: str,
    settings: Settings,
    collector: CollectorRegistry,
    mapping_file: Path | None = None,
) -> tuple[Runner, KafkaPublisher]:
    """The runner and publisher of a department's connector, wired to the settings.

    It opens the connectors' state store and a schema registry over HTTP, never the view
    store: a connector holds no credentials on the hub's database.
    """
    from connectors.checkpoints import FileCheckpoints
    from connectors.gazetteer import Gazetteer
    from connectors.metrics import ConnectorMetrics
    from connectors.resolution import ResolutionQueue
    from connectors.runner import Runner
    from connectors.state.store import open_state_store

    check_department(department)
    hmac_key, seal_key = settings.hmac_key, settings.seal_key  # missing: stop, create nothing
    factory = mapping_factory(department, settings, mapping_file)
    state = open_state_store(settings.connector_state_url)
    mapping = factory(hmac_key, Gazetteer(state))  # a bad mapping fails before Kafka
    publisher = connector_publisher(settings)
    runner = Runner(
        mapping=mapping,
        publisher=publisher,
        checkpoints=FileCheckpoints(settings.checkpoint_dir / f"{department}.json"),
        seal_key=seal_key,
        metrics=ConnectorMetrics(collector),
        parking=ResolutionQueue(state, seal_key),
    )
    return runner, publisher


def mapping_factory(
    department: str, settings: Settings, mapping_file: Path | None
) -> MapperFactory:
    """The department's mapping: ``--mapping FILE``, else its file in DATONG_MAPPINGS_DIR,
    else the shipped one."""
    from connectors.mappings import FileMapping, department_mappings

    if mapping_file is not None:
        if not mapping_file.is_file():
            raise DatongError(f"--mapping {mapping_file}: no such file")
        return FileMapping(mapping_file, department)
    return department_mappings(settings.mappings_dir)[department]


def check_department(department: str) -> None:
    from connectors.mappings import MAPPINGS

    if department not in MAPPINGS:
        raise DatongError(
            f"no connector mapping for department {department!r} yet; "
            f"available: {', '.join(sorted(MAPPINGS))}"
        )


def connector_publisher(settings: Settings) -> KafkaPublisher:
    """A publisher to the settings' broker, its schema ids looked up in the registry over
    HTTP once it answers (the hub registered them)."""
    from connectors.publisher import KafkaPublisher
    from schemas.catalog import Catalog
    from schemas.registry.errors import RegistryUnreachableError
    from schemas.serde import Serde
    from services.registries import connector_registry
    from services.topics import prepare_topics, topic_specs

    catalog = Catalog.load()
    # Topics first: a missing one is the operator's to create, and waiting for the
    # registry would only delay saying so.
    prepare_topics(
        settings.topics,
        settings.bootstrap,
        topic_specs(catalog, settings.partitions, settings.dlq_retention_days),
        **settings.kafka_options(),
    )
    registry = connector_registry(settings)
    hint = "the hub's API serves one (`datong api`, `datong up`); DATONG_REGISTRY_URL names another"
    try:
        registry.wait_until_answering(
            settings.registry_wait_s,
            lambda why: log.info(
                "waiting up to %g s for the schema registry: %s; %s",
                settings.registry_wait_s,
                why,
                hint,
            ),
        )
    except RegistryUnreachableError as exc:
        raise RegistryUnreachableError(f"{exc}; {hint}") from exc
    verify_keys(settings)  # before anything is published under them
    return KafkaPublisher(settings.bootstrap, Serde(catalog, registry), **settings.kafka_options())
