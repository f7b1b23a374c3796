"""Department mappings: source fields -> pseudonymized events, declared in YAML.

``MAPPINGS`` names every department with a connector; each entry builds the department's
mapper from ``<department_dir>.yaml`` (checked against the catalog on first use), the hub's
HMAC key and the gazetteer. Departments that resolve addresses (every one but
public-security) need the gazetteer and refuse to build without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from connectors.gazetteer import Gazetteer
from connectors.mappings.loader import department_spec
from connectors.mappings.mapper import DepartmentMapper
from schemas.catalog import department_name

DEPARTMENT_DIRS = (
    "public_security",
    "health",
    "civil_affairs",
    "housing",
    "grid",
    "commerce",
    "utilities",
)


class MapperFactory(Protocol):
    """Builds a department's mapper from the hub key and, for address resolution, a gazetteer."""

    def __call__(self, hmac_key: bytes, gazetteer: Gazetteer | None = None) -> DepartmentMapper:
        """The department's mapper; MappingError if its YAML is wrong or needs a gazetteer."""
        ...


@dataclass(frozen=True)
class YamlMapping:
    """The MapperFactory of one department directory's YAML."""

    directory: str

    def __call__(self, hmac_key: bytes, gazetteer: Gazetteer | None = None) -> DepartmentMapper:
        """The department's mapper under ``hmac_key``, resolving through ``gazetteer``."""
        return DepartmentMapper(department_spec(self.directory), hmac_key, gazetteer)


MAPPINGS: dict[str, MapperFactory] = {
    department_name(directory): YamlMapping(directory) for directory in DEPARTMENT_DIRS
}
