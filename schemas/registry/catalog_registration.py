"""What ``datong schemas list|check|register`` do, over the embedded or an external registry.

``check`` compares the working tree's schemas (the catalog) with what the registry holds
under each subject, at the subject's compatibility level, so a breaking change is caught
before any producer or consumer meets it; ``register_all`` registers every contract,
refusing the whole batch when any of them would break its subject.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from schemas import compat
from schemas.catalog import Catalog, Contract
from schemas.registry.errors import IncompatibleSchemaError
from schemas.registry.port import RegistryAdmin


class ContractRow(NamedTuple):
    """One line of ``datong schemas list``."""

    kind: str
    topic: str
    subject: str
    full_name: str
    key_field: str
    fields: int


@dataclass(frozen=True)
class Problem:
    """A working-tree schema that its subject would refuse: which field, which rule, why."""

    subject: str
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


class Registered(NamedTuple):
    """One subject after ``register_all``: ``created`` is False when it was already there."""

    subject: str
    schema_id: int
    version: int
    created: bool


def list_contracts(catalog: Catalog) -> list[ContractRow]:
    """Every contract with its topic and value subject, sources first, then views."""
    rows = [
        ContractRow(c.kind, c.topic, c.value_subject, c.full_name, c.key_field, len(c.field_names))
        for c in catalog
    ]
    return sorted(rows, key=lambda row: (row.kind != "source", row.topic))


def check(catalog: Catalog, registry: RegistryAdmin) -> list[Problem]:
    """Every way the catalog's schemas would break their subjects' compatibility levels.

    A subject the registry does not know yet, or that already holds the same schema, is
    no problem. An empty list means ``register_all`` will succeed.
    """
    problems: list[Problem] = []
    for contract in catalog:
        problems.extend(_contract_problems(contract, registry))
    return problems


def register_all(catalog: Catalog, registry: RegistryAdmin) -> list[Registered]:
    """Register every contract's value schema (idempotent); refuse all if any is breaking.

    Raises IncompatibleSchemaError listing every problem before registering anything, so
    a refused run leaves the registry as it was.
    """
    problems = check(catalog, registry)
    if problems:
        reasons = [str(p) for p in problems]
        raise IncompatibleSchemaError(
            f"{len(problems)} schema change(s) would break compatibility; nothing was "
            "registered:\n  " + "\n  ".join(reasons),
            reasons,
        )
    registered = []
    for contract in catalog:
        done = registry.register_version(contract.value_subject, contract.schema_text)
        registered.append(Registered(done.subject, done.schema_id, done.version, done.created))
    return registered


def _contract_problems(contract: Contract, registry: RegistryAdmin) -> list[Problem]:
    subject = contract.value_subject
    existing = registry.live_versions(subject)
    mine = _parsed(contract.schema_text)
    if any(_parsed(v.schema_text) == mine for v in existing):
        return []
    level = registry.compatibility(subject)
    found = compat.incompatibilities(
        contract.schema_text,
        [v.schema_text for v in existing],
        level,
        [v.version for v in existing],
    )
    return [Problem(subject, i.field, level, str(i)) for i in found]


def _parsed(schema_text: str) -> Any:
    return json.loads(schema_text)
