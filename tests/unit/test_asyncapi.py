"""The AsyncAPI 3 document: valid against the official JSON schema, complete, self-consistent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import jsonschema
import pytest
import yaml

from schemas.asyncapi import AVRO_FORMAT, asyncapi_document, render_yaml
from schemas.catalog import Catalog, dlq_topic, parked_topic

# AsyncAPI 3.0.0 JSON schema (draft-07) with every definition inlined, so it resolves
# offline: schemas/3.0.0-without-$id.json of the @asyncapi/specs 6.11.1 package.
SPEC = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"
REGISTRY_URL = "http://127.0.0.1:8080/registry"
BOOTSTRAP = "127.0.0.1:9092"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def doc(catalog: Catalog) -> dict[str, Any]:
    return asyncapi_document(catalog, REGISTRY_URL, BOOTSTRAP)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(spec)
    return jsonschema.Draft7Validator(
        spec, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def errors(validator: jsonschema.Draft7Validator, doc: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def test_the_yaml_document_validates_against_the_asyncapi_3_schema(
    doc: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    parsed = yaml.safe_load(render_yaml(doc))
    assert parsed == doc
    assert parsed["asyncapi"] == "3.0.0"
    assert errors(validator, parsed) == []


def test_the_validation_is_not_vacuous(
    doc: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    broken = json.loads(json.dumps(doc))
    broken["operations"]["x"] = {"action": "publish", "channel": {"$ref": "#/channels/x"}}
    assert errors(validator, broken) != []


def test_several_bootstrap_brokers_each_become_a_valid_server(
    catalog: Catalog, validator: jsonschema.Draft7Validator
) -> None:
    doc = asyncapi_document(catalog, REGISTRY_URL, "k1:9092, k2:9092,k3:9092")
    assert [s["host"] for s in doc["servers"].values()] == ["k1:9092", "k2:9092", "k3:9092"]
    assert errors(validator, doc) == []


def test_servers_carry_the_kafka_binding_with_the_schema_registry(doc: dict[str, Any]) -> None:
    server = doc["servers"]["kafka"]
    assert (server["host"], server["protocol"]) == (BOOTSTRAP, "kafka")
    assert server["bindings"]["kafka"]["schemaRegistryUrl"] == REGISTRY_URL
    assert server["bindings"]["kafka"]["schemaRegistryVendor"] == "confluent"


def test_every_source_view_dead_letter_and_parked_notice_topic_is_a_channel(
    doc: dict[str, Any], catalog: Catalog
) -> None:
    expected = {c.topic for c in catalog} | {dlq_topic(d) for d in catalog.departments()}
    expected |= {parked_topic(d) for d in catalog.departments()}
    assert {c["address"] for c in doc["channels"].values()} == expected
    assert any(t.startswith("view.") for t in expected)
    assert any(t.startswith("src.") for t in expected)


def test_views_are_compacted_and_sources_are_not(doc: dict[str, Any]) -> None:
    for topic, channel in doc["channels"].items():
        policy = channel["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"]
        assert policy == (["compact"] if topic.startswith("view.") else ["delete"])


def test_source_topics_are_published_as_kept_forever(doc: dict[str, Any]) -> None:
    for topic, channel in doc["channels"].items():
        configuration = channel["bindings"]["kafka"]["topicConfiguration"]
        if topic.startswith("src."):
            assert configuration["retention.ms"] == -1, topic
        else:
            assert "retention.ms" not in configuration, topic


def test_each_contract_message_carries_its_avro_schema(
    doc: dict[str, Any], catalog: Catalog
) -> None:
    messages = doc["components"]["messages"]
    for contract in catalog:
        payload = messages[contract.full_name]["payload"]
        assert payload["schemaFormat"] == AVRO_FORMAT
        assert payload["schema"] == contract.schema
        fastavro.parse_schema(payload["schema"])


def test_messages_declare_the_cloudevents_headers(doc: dict[str, Any], catalog: Catalog) -> None:
    headers = doc["components"]["schemas"]["CloudEventsHeaders"]
    assert set(headers["required"]) == {
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "content-type",
    }
    for contract in catalog:
        parts = doc["components"]["messages"][contract.full_name]["headers"]["allOf"]
        assert parts[0] == {"$ref": "#/components/schemas/CloudEventsHeaders"}
        assert parts[1]["properties"]["ce_type"]["const"] == contract.full_name


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_every_reference_in_the_document_resolves(doc: dict[str, Any]) -> None:
    found = refs(doc)
    assert len(found) > len(doc["channels"])
    for ref in found:
        assert resolve(doc, ref) is not None, ref


def test_every_operation_names_a_message_of_its_own_channel(doc: dict[str, Any]) -> None:
    for operation in doc["operations"].values():
        channel = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel + "/messages/")
            resolve(doc, message["$ref"])
