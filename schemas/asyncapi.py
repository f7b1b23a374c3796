"""The AsyncAPI 3 document of every topic, generated from the catalog (``GET /asyncapi.yaml``).

Servers carry the Kafka binding (schema registry URL, vendor confluent); each topic is a
channel: the sources, the compacted views, the departments' dead letters and their
parked-address notices. Messages
carry their Avro schema as payload (Confluent framing: the 4-byte schema id sits in the
payload) and the CloudEvents headers of the Kafka binding, binary mode (docs/views.md).
"""

from __future__ import annotations

from typing import Any

import yaml

from schemas.catalog import Catalog, Contract, dlq_topic, parked_topic
from schemas.headers import CONTENT_TYPE, DEAD_LETTER_PREFIX, PARKED_PREFIX, SPEC_VERSION

ASYNCAPI_VERSION = "3.0.0"
AVRO_FORMAT = "application/vnd.apache.avro;version=1.9.0"
KAFKA_BINDING = "0.5.0"
DEAD_LETTER_HEADER = DEAD_LETTER_PREFIX
HEADERS_REF = "#/components/schemas/CloudEventsHeaders"


def asyncapi_document(
    catalog: Catalog, registry_url: str, bootstrap: str, version: str = "0.1.0"
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the hub's topics, as plain data."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for contract in catalog:
        messages[contract.full_name] = _avro_message(contract)
        _add_channel(channels, operations, contract.topic, contract.full_name, contract)
    for department in catalog.departments():
        name = f"DeadLetter.{department}"
        messages[name] = _dead_letter_message(department)
        _add_channel(channels, operations, dlq_topic(department), name, None)
        notice = f"ParkedNotice.{department}"
        messages[notice] = _parked_message(department)
        _add_channel(channels, operations, parked_topic(department), notice, None, kind="parked")
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "datong community data-sharing hub",
            "version": version,
            "description": (
                "Typed Avro events of the departments serving a residential community, the "
                "shared views merged from them, and the records each department's connector "
                "rejected. Values use the Confluent wire format (magic byte 0, 4-byte schema "
                "id, Avro binary); subjects follow TopicNameStrategy (<topic>-value); keys "
                "are plain UTF-8 strings."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(bootstrap, registry_url),
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"CloudEventsHeaders": _ce_headers()}},
    }


def render_yaml(doc: dict[str, Any]) -> str:
    """The document as YAML, keys in the order they were built, non-ASCII kept readable."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def _servers(bootstrap: str, registry_url: str) -> dict[str, Any]:
    hosts = [h.strip() for h in bootstrap.split(",") if h.strip()]
    binding = {
        "schemaRegistryUrl": registry_url,
        "schemaRegistryVendor": "confluent",
        "bindingVersion": KAFKA_BINDING,
    }
    return {
        ("kafka" if len(hosts) == 1 else f"kafka-{n}"): {
            "host": host,
            "protocol": "kafka",
            "description": "A bootstrap broker of the hub's Kafka cluster.",
            "bindings": {"kafka": binding},
        }
        for n, host in enumerate(hosts, start=1)
    }


def _add_channel(
    channels: dict[str, Any],
    operations: dict[str, Any],
    topic: str,
    message: str,
    contract: Contract | None,
    *,
    kind: str = "dlq",
) -> None:
    """One channel per topic, its message, and who sends and receives on it."""
    kind = contract.kind if contract is not None else kind
    policy = "compact" if kind == "view" else "delete"
    configuration: dict[str, Any] = {"cleanup.policy": [policy]}
    if kind == "source":
        # Kept forever: the views are rebuilt from them (services/topics.py creates them so).
        configuration["retention.ms"] = -1
    channels[topic] = {
        "address": topic,
        "title": topic,
        "summary": _CHANNEL_SUMMARY[kind],
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
        "bindings": {
            "kafka": {
                "topic": topic,
                "topicConfiguration": configuration,
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }
    for action, summary in _OPERATIONS[kind]:
        operations[f"{action}.{topic}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{topic}/messages/{message}"}],
        }


_CHANNEL_SUMMARY = {
    "source": "One department's events of one type, keyed by the subject key.",
    "view": "A shared view: the latest row per key (compacted); a null value deletes the key.",
    "dlq": "Records a department's connector or a merge worker rejected, with the reason.",
    "parked": "Rows a department's connector parked for their address, and their resolution.",
}

_OPERATIONS = {
    "source": [
        ("send", "The department's connector publishes its events here."),
        ("receive", "The merge workers consume the events into the views."),
    ],
    "view": [("send", "The merge workers' outbox publishes every change of the view.")],
    "dlq": [("send", "Connectors and merge workers dead-letter what they cannot accept.")],
    "parked": [
        ("send", "The department's connector announces each row it parks or resolves."),
        ("receive", "The feed quality consumer counts them into the scorecards."),
    ],
}


def _avro_message(contract: Contract) -> dict[str, Any]:
    key_doc = f"The record's {contract.key_field} as a UTF-8 string."
    return {
        "name": contract.name,
        "title": contract.full_name,
        "summary": str(contract.schema.get("doc", contract.full_name)),
        "contentType": CONTENT_TYPE,
        "headers": {
            "allOf": [
                {"$ref": HEADERS_REF},
                {"properties": {"ce_type": {"type": "string", "const": contract.full_name}}},
            ]
        },
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": contract.schema},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": key_doc},
                "schemaIdLocation": "payload",
                "schemaIdPayloadEncoding": "confluent",
                "schemaLookupStrategy": "TopicNameStrategy",
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _dead_letter_message(department: str) -> dict[str, Any]:
    names = ("reason", "code", "field", "source", "position", "department", "time")
    return {
        "name": f"DeadLetter.{department}",
        "title": f"A record rejected from {department}",
        "summary": (
            "The rejected record: sealed (encrypted) when a connector rejected it, the "
            "undecodable bytes when a merge worker did; the reason is in the headers."
        ),
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "required": [DEAD_LETTER_HEADER + "reason", DEAD_LETTER_HEADER + "source"],
            "properties": {DEAD_LETTER_HEADER + n: {"type": "string"} for n in names},
        },
        "payload": {"type": "string", "format": "binary"},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "The source position, or the original key.",
                },
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _parked_message(department: str) -> dict[str, Any]:
    names = ("outcome", "code", "field", "department", "time")
    return {
        "name": f"ParkedNotice.{department}",
        "title": f"A row of {department} parked for its address, or resolved",
        "summary": (
            "What happened to the row (outcome parked or resolved), never its values: the "
            "value is empty and the headers name the field and the reason code."
        ),
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "required": [PARKED_PREFIX + "outcome", PARKED_PREFIX + "code"],
            "properties": {
                **{PARKED_PREFIX + n: {"type": "string"} for n in names},
                PARKED_PREFIX + "outcome": {"type": "string", "enum": ["parked", "resolved"]},
            },
        },
        "payload": {"type": "string", "maxLength": 0},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The row's source#position."},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _ce_headers() -> dict[str, Any]:
    """The CloudEvents Kafka binding's headers, binary mode, as a JSON schema."""
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes as Kafka headers (binary content mode).",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
        "properties": {
            "ce_specversion": {"type": "string", "const": SPEC_VERSION},
            "ce_id": {"type": "string", "description": "The event_id; unique per event."},
            "ce_source": {
                "type": "string",
                "description": "The department that produced it, or datong/merge for views.",
            },
            "ce_type": {"type": "string", "description": "The Avro full name of the record."},
            "ce_time": {
                "type": "string",
                "format": "date-time",
                "description": "When it happened at the department (UTC, milliseconds).",
            },
            "content-type": {"type": "string", "const": CONTENT_TYPE},
        },
    }
