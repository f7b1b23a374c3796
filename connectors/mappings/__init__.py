"""Department mappings: source fields -> pseudonymized events, declared in YAML.

``MAPPINGS`` names every department with a connector; each entry builds the department's
mapper from ``<department_dir>.yaml`` (checked against the catalog on first use), the hub's
HMAC key and the gazetteer. Departments that resolve addresses (every one but
public-security) need the gazetteer and refuse to build without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from connectors.gazetteer import Gazetteer
from connectors.mappings.loader import department_spec, load_mapping_file
from connectors.mappings.mapper import DepartmentMapper, MappingError
from schemas.catalog import Catalog, department_name

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


@dataclass(frozen=True)
class FileMapping:
    """The MapperFactory of a department's own mapping file (``--mapping``, a mappings dir)."""

    path: Path
    department: str

    def __call__(self, hmac_key: bytes, gazetteer: Gazetteer | None = None) -> DepartmentMapper:
        """The file's mapper, checked against the catalog each time it is built."""
        spec = load_mapping_file(self.path, Catalog.load(), self.department)
        return DepartmentMapper(spec, hmac_key, gazetteer)


def department_mappings(mappings_dir: Path | None = None) -> dict[str, MapperFactory]:
    """Every department's mapping: its file in ``mappings_dir`` when there is one
    (``health.yaml``, ``public_security.yaml`` or ``public-security.yaml``), else the shipped one.
    """
    if mappings_dir is None:
        return dict(MAPPINGS)
    if not mappings_dir.is_dir():
        raise MappingError(
            f"{mappings_dir}: the mappings folder (DATONG_MAPPINGS_DIR) does not exist"
        )
    chosen: dict[str, MapperFactory] = {}
    for directory in DEPARTMENT_DIRS:
        department = department_name(directory)
        own = [mappings_dir / f"{n}.yaml" for n in dict.fromkeys((directory, department))]
        found = next((path for path in own if path.is_file()), None)
        chosen[department] = (
            MAPPINGS[department] if found is None else FileMapping(found, department)
        )
    return chosen
