"""Loads every ``.avsc`` under ``schemas/avro`` and names its topic and subjects.

Conventions (ARCHITECTURE.md, schemas/): ``avro/<department_dir>/<EventName>.avsc`` with namespace
``gov.<department_dir>`` is a source event on ``src.<department>.<event-name>``;
``avro/views/<ViewName>.avsc`` is a view on ``view.<view_name>``; ``avro/common`` holds
named types that other files reference by full name and that are inlined on load, so
every registered schema is self-contained.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import fastavro

from schemas.errors import CatalogError

AVRO_ROOT = Path(__file__).parent / "avro"
COMMON_DIR = "common"
VIEWS_DIR = "views"
KEY_ATTRIBUTE = "datong.key"
# Each field of a view names the department that owns its values, or the hub for values it
# derives (counts, alerts, provenance): the data catalogue (``GET /catalog``) shows it.
OWNER_ATTRIBUTE = "datong.owner"
HUB_OWNER = "datong"

Kind = Literal["source", "view"]


def kebab(name: str) -> str:
    """``ResidentRegistered`` -> ``resident-registered``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def snake(name: str) -> str:
    """``ResidentProfile`` -> ``resident_profile``."""
    return kebab(name).replace("-", "_")


def department_name(directory: str) -> str:
    """Directory ``public_security`` -> department ``public-security``."""
    return directory.replace("_", "-")


def dlq_topic(department: str) -> str:
    """The dead-letter topic of a department."""
    return f"dlq.{department}"


def parked_topic(department: str) -> str:
    """The topic of a department's parked-address notices (a row held, a held row resolved)."""
    return f"parked.{department}"


@dataclass(frozen=True)
class Contract:
    """One Avro record type and where it travels."""

    kind: Kind
    name: str
    full_name: str
    topic: str
    key_field: str
    schema: dict[str, Any] = field(repr=False)
    parsed: Any = field(repr=False, compare=False)
    department: str | None = None
    event: str | None = None
    view: str | None = None

    @property
    def value_subject(self) -> str:
        """Subject under TopicNameStrategy."""
        return f"{self.topic}-value"

    @property
    def key_subject(self) -> str:
        """Key subject under TopicNameStrategy (keys are plain UTF-8 strings)."""
        return f"{self.topic}-key"

    @property
    def schema_text(self) -> str:
        """The self-contained schema as registered."""
        return json.dumps(self.schema, ensure_ascii=False, separators=(",", ":"))

    @property
    def field_owners(self) -> dict[str, str]:
        """Each field -> its owning department (views; a source event's is its department)."""
        return {
            f["name"]: str(f.get(OWNER_ATTRIBUTE, self.department or HUB_OWNER))
            for f in self.schema["fields"]
        }

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the record's fields, in schema order."""
        return tuple(f["name"] for f in self.schema["fields"])


class Catalog:
    """Every contract, by topic, by full name and by department."""

    def __init__(self, contracts: list[Contract]) -> None:
        self._by_topic = {c.topic: c for c in contracts}
        self._by_name = {c.full_name: c for c in contracts}

    @classmethod
    def load(cls, root: Path = AVRO_ROOT) -> Catalog:
        """Load and check every schema under ``root``; raise CatalogError on the first bad one."""
        common = _load_common(root / COMMON_DIR)
        contracts: list[Contract] = []
        for path in sorted(root.glob("*/*.avsc")):
            if path.parent.name == COMMON_DIR:
                continue
            contracts.append(_load_contract(path, common))
        topics = [c.topic for c in contracts]
        duplicates = {t for t in topics if topics.count(t) > 1}
        if duplicates:
            raise CatalogError(f"two schemas map to the same topic: {sorted(duplicates)}")
        catalog = cls(contracts)
        owners = {*catalog.departments(), HUB_OWNER}
        for view in catalog.views():
            for entry in view.schema["fields"]:
                if entry.get(OWNER_ATTRIBUTE) not in owners:
                    raise CatalogError(
                        f"view {view.name}: field {entry['name']!r}: {OWNER_ATTRIBUTE!r} must "
                        f"name its owning department or {HUB_OWNER!r}; one of {sorted(owners)}"
                    )
        return catalog

    def __iter__(self) -> Iterator[Contract]:
        return iter(self._by_topic.values())

    def by_topic(self, topic: str) -> Contract:
        """The contract of a topic; CatalogError names the topic when unknown."""
        try:
            return self._by_topic[topic]
        except KeyError:
            raise CatalogError(f"no schema in the catalog for topic {topic!r}") from None

    def by_name(self, full_name: str) -> Contract:
        """The contract of an Avro full name such as ``gov.health.HealthStatusChanged``."""
        try:
            return self._by_name[full_name]
        except KeyError:
            raise CatalogError(f"no schema in the catalog named {full_name!r}") from None

    def event(self, department: str, event: str) -> Contract:
        """The source contract for ``department`` and kebab-case ``event``."""
        return self.by_topic(f"src.{department}.{event}")

    def view(self, view: str) -> Contract:
        """The view contract, e.g. ``resident_profile``."""
        return self.by_topic(f"view.{view}")

    def sources(self, department: str | None = None) -> list[Contract]:
        """Source contracts, optionally of one department."""
        return [
            c
            for c in self
            if c.kind == "source" and (department is None or c.department == department)
        ]

    def views(self) -> list[Contract]:
        """View contracts."""
        return [c for c in self if c.kind == "view"]

    def view_key_fields(self) -> dict[str, str]:
        """Each view's name -> its key field (``datong.key``): where every part of the hub
        learns which views there are and what their rows are keyed by."""
        return {str(c.view): c.key_field for c in self.views()}

    def departments(self) -> list[str]:
        """Every department that has at least one source contract."""
        return sorted({c.department for c in self.sources() if c.department})


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path}: not a readable JSON schema: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: a schema file must hold one JSON object")
    return data


def _full_name(schema: dict[str, Any]) -> str:
    return f"{schema.get('namespace', '')}.{schema['name']}".lstrip(".")


def _load_common(directory: Path) -> dict[str, dict[str, Any]]:
    common: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.avsc")):
        schema = _read_json(path)
        _parse(path, schema)
        common[_full_name(schema)] = schema
    return common


def _inline(node: Any, common: dict[str, dict[str, Any]], defined: set[str]) -> Any:
    """Replace the first reference to each shared named type by its definition."""
    if isinstance(node, str):
        if node in common and node not in defined:
            defined.add(node)
            return _inline(common[node], common, defined)
        return node
    if isinstance(node, list):
        return [_inline(item, common, defined) for item in node]
    if isinstance(node, dict):
        if "name" in node and node.get("type") in ("record", "enum", "fixed"):
            defined.add(_full_name(node) if "." not in node["name"] else node["name"])
        return {
            k: _inline(v, common, defined) if k in ("type", "items", "values", "fields") else v
            for k, v in node.items()
        }
    return node


def _parse(path: Path, schema: dict[str, Any]) -> Any:
    try:
        return fastavro.parse_schema(schema, _write_hint=False)
    except Exception as exc:  # fastavro raises several unrelated types for a bad schema
        raise CatalogError(f"{path}: not a valid Avro schema: {exc}") from exc


def _check_docs(path: Path, schema: dict[str, Any]) -> None:
    missing = [f["name"] for f in schema.get("fields", []) if not f.get("doc")]
    if not schema.get("doc") or missing:
        raise CatalogError(f"{path}: every record and field needs a doc; missing on {missing}")


def _load_contract(path: Path, common: dict[str, dict[str, Any]]) -> Contract:
    raw = _read_json(path)
    if raw.get("type") != "record" or raw.get("name") != path.stem:
        raise CatalogError(f"{path}: must hold a record named {path.stem!r}")
    key_field = raw.get(KEY_ATTRIBUTE)
    field_names = [f.get("name") for f in raw.get("fields", [])]
    if not isinstance(key_field, str) or key_field not in field_names:
        raise CatalogError(f"{path}: {KEY_ATTRIBUTE!r} must name one of the fields {field_names}")
    _check_docs(path, raw)
    schema = _inline(raw, common, set())
    parsed = _parse(path, schema)
    directory = path.parent.name
    full_name = _full_name(schema)
    if directory == VIEWS_DIR:
        if schema.get("namespace") != "gov.views":
            raise CatalogError(f"{path}: a view's namespace must be gov.views")
        view = snake(path.stem)
        return Contract(
            "view", path.stem, full_name, f"view.{view}", key_field, schema, parsed, view=view
        )
    if schema.get("namespace") != f"gov.{directory}":
        raise CatalogError(f"{path}: namespace must be gov.{directory}")
    department = department_name(directory)
    for required in ("event_id", "event_time", "department"):
        if required not in field_names:
            raise CatalogError(f"{path}: a source event must have the field {required!r}")
    event = kebab(path.stem)
    return Contract(
        "source",
        path.stem,
        full_name,
        f"src.{department}.{event}",
        key_field,
        schema,
        parsed,
        department=department,
        event=event,
    )
