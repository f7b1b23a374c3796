"""Import direction, configuration access and table creation, checked on the syntax trees.

``connectors -> schemas <- services``: the contracts depend on nothing of ours, connectors
and services never import each other except in the composition roots, only the entry point
reads the process environment, and every table of every store is created by its Alembic
history, never by ``create_all``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("connectors", "schemas", "services")
COMPOSITION_ROOTS = {
    "services/cli/__init__.py",
    "services/cli/connector.py",
    "services/cli/connector_resolve.py",
    "services/cli/connector_wiring.py",
    "services/cli/dlq.py",
    "services/cli/mapping.py",
    "services/cli/keys.py",
    "services/cli/admin.py",
    "services/cli/hub.py",
    "services/cli/demo.py",  # the demo community, generated and fed
    "services/cli/demo_live.py",  # the demo's departments pushing new events
    "services/cli/reference.py",  # the reference pages list the connectors' metrics too
    "services/api/app.py",
}
# The bench wires real connectors beside raw clients to measure them: a composition root too.
BENCH_ROOTS = {
    "services/bench/connector.py",
    "services/bench/data.py",
}
READS_ENVIRONMENT = {"services/settings.py", "services/cli/hub.py"}
ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
DYNAMIC_IMPORTS = {"import_module", "__import__"}


@dataclass(frozen=True)
class Module:
    """One source file: where it is and what its syntax tree says."""

    path: str  # relative to the repository root, with forward slashes
    tree: ast.Module

    @property
    def package(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def dotted(self) -> str:
        return self.path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def parse(path: str, source: str) -> Module:
    return Module(path, ast.parse(source, filename=path))


def modules() -> list[Module]:
    found = []
    for package in PACKAGES:
        for file in sorted((ROOT / package).rglob("*.py")):
            relative = file.relative_to(ROOT).as_posix()
            found.append(parse(relative, file.read_text(encoding="utf-8")))
    return found


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.dotted.split(".")
    is_package = module.path.endswith("__init__.py")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(module: Module) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import, relative ones resolved, dynamic ones too."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, _resolve(module, node)
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in DYNAMIC_IMPORTS
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield node.lineno, str(node.args[0].value)


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def environment_reads(module: Module) -> Iterator[int]:
    """Lines that touch the process environment through the ``os`` module."""
    os_names = {"os"}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname or a.name for a in node.names if a.name == "os"}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(a.name in ENV_NAMES for a in node.names):
                yield node.lineno
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ENV_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            yield node.lineno


def create_all_calls(module: Module) -> Iterator[int]:
    """Lines that name ``create_all`` (SQLAlchemy's metadata.create_all), called or passed."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute | ast.Name) and _called_name(node) == "create_all":
            yield node.lineno


def top(name: str) -> str:
    return name.split(".", 1)[0]


def violations(
    package: str,
    forbidden: set[str],
    allowed_in: frozenset[str] = frozenset(),
) -> list[str]:
    return [
        f"{m.path}:{line} imports {name}"
        for m in modules()
        if m.package == package and m.path not in allowed_in
        for line, name in imports(m)
        if top(name) in forbidden
    ]


# --- the checks --------------------------------------------------------------------------


def test_every_package_is_walked() -> None:
    paths = {m.path for m in modules()}
    for expected in (
        "schemas/catalog.py",
        "connectors/identity.py",
        "connectors/sources/csv_file.py",
        "services/merge/merge.py",
        *COMPOSITION_ROOTS,
        *READS_ENVIRONMENT,
    ):
        assert expected in paths


def test_schemas_import_neither_connectors_nor_services() -> None:
    assert violations("schemas", {"connectors", "services"}) == []


def test_connectors_never_import_services() -> None:
    assert violations("connectors", {"services"}) == []


def test_services_import_connectors_only_in_the_composition_roots() -> None:
    allowed = frozenset(COMPOSITION_ROOTS | BENCH_ROOTS)
    assert violations("services", {"connectors"}, allowed) == []


def test_only_settings_and_the_cli_read_the_environment() -> None:
    readers = [
        f"{m.path}:{line}"
        for m in modules()
        if m.path not in READS_ENVIRONMENT
        for line in environment_reads(m)
    ]
    assert readers == []


def test_no_table_is_created_outside_the_migrations() -> None:
    # The view store and the connectors' state store are each built and upgraded by their
    # own Alembic history; a create_all would make tables no migration knows of.
    found = [f"{m.path}:{line}" for m in modules() for line in create_all_calls(m)]
    assert found == []


# --- the detectors themselves, so the checks above cannot pass vacuously ------------------


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("services/a.py", "import connectors.base", "connectors.base"),
        ("services/a.py", "from connectors import base", "connectors"),
        ("services/a.py", "def f():\n    from connectors.x import y", "connectors.x"),
        ("services/merge/a.py", "from ..settings import Settings", "services.settings"),
        ("services/merge/__init__.py", "from .rules import VIEWS", "services.merge.rules"),
        (
            "services/a.py",
            "import importlib\nimportlib.import_module('connectors.runner')",
            "connectors.runner",
        ),
    ],
)
def test_the_import_detector_sees_every_form(path: str, source: str, expected: str) -> None:
    assert expected in [name for _, name in imports(parse(path, source))]


@pytest.mark.parametrize(
    "source",
    [
        "import os\nos.environ['X']",
        "import os\nos.environ.get('X')",
        "import os\nos.getenv('X')",
        "import os as o\no.environ",
        "from os import environ",
        "from os import getenv as g",
    ],
)
def test_the_environment_detector_sees_every_form(source: str) -> None:
    assert list(environment_reads(parse("connectors/a.py", source))) != []


def test_the_environment_detector_ignores_unrelated_environ_names() -> None:
    source = "def f(environ):\n    return environ.get('X')\nimport os\nos.path.join('a')"
    assert list(environment_reads(parse("services/a.py", source))) == []


# --- no cycles between the parts of a package --------------------------------------------------


def part(dotted: str) -> str:
    """The part of the code a module belongs to: a subpackage, or a package's top module."""
    return ".".join(dotted.split(".")[:2])


def part_graph(found: list[Module]) -> dict[str, set[str]]:
    """Which parts import which (``services.merge -> services.store``), among ours only."""
    graph: dict[str, set[str]] = {}
    for module in found:
        for _, name in imports(module):
            if top(name) in PACKAGES and part(name) != part(module.dotted):
                graph.setdefault(part(module.dotted), set()).add(part(name))
    return graph


def a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its parts in order, the first repeated at the end), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        found = _cycle_from(start, graph, [], done)
        if found is not None:
            return found
    return None


def _cycle_from(
    node: str, graph: dict[str, set[str]], path: list[str], done: set[str]
) -> list[str] | None:
    """Depth first from ``node`` along ``path``: the first cycle back onto the path."""
    if node in path:
        return [*path[path.index(node) :], node]
    if node in done:
        return None
    for nxt in sorted(graph.get(node, ())):
        found = _cycle_from(nxt, graph, [*path, node], done)
        if found is not None:
            return found
    done.add(node)
    return None


def test_no_two_parts_of_the_code_import_each_other_even_through_others() -> None:
    cycle = a_cycle(part_graph(modules()))
    assert cycle is None, "an import cycle between parts: " + " -> ".join(cycle or [])


def test_the_cycle_detector_finds_a_cycle_through_a_third_part() -> None:
    found = [
        parse("services/store/views.py", "from services.merge.batch import StoredRow"),
        parse("services/merge/processor.py", "from services.api.auth import x"),
        parse("services/api/app.py", "from services.store import views"),
    ]
    assert a_cycle(part_graph(found)) == [
        "services.api",
        "services.store",
        "services.merge",
        "services.api",
    ]
    assert a_cycle(part_graph(found[:2])) is None


# --- the API reads what the contracts say, never the merge's internals ---------------------
#
# A view's key field is declared once, in its contract (``datong.key``, read through
# ``schemas.catalog``). The read path renders, filters and streams records without the
# merge: it takes view names and key fields from the catalog.

API = "services.api"
MERGE = "services.merge"


def imported_modules(module: Module) -> Iterator[tuple[int, str]]:
    """(line, module) for every import; ``from a import b`` also names ``a.b`` (b may be one)."""
    yield from imports(module)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if base else alias.name


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def view_keys() -> dict[str, str]:
    """Each view and its key field, as the contracts declare them (the oracle)."""
    return {str(c.view): c.key_field for c in Catalog.load().views()}


def _string_names(module: Module) -> dict[str, str]:
    """Names bound to a string literal anywhere in the module (``ALERT_VIEW = "alert"``)."""
    return {
        target.id: node.value.value
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def key_field_declarations(module: Module, keys: dict[str, str]) -> Iterator[tuple[int, str]]:
    """(line, what) where a module states a view's key field itself:

    - a view's name beside its key field as literals of one call, dict, tuple or list
      (``ViewSpec(name="alert", key_field="alert_id")``, ``{ALERT_VIEW: "alert_id"}``,
      ``("alert", "alert_id")``, ``dict(alert="alert_id")``);
    - a key field literal given to a name that says it is one (``key_field="alert_id"``,
      ``ALERT_KEY_FIELD = "alert_id"``).
    """
    names = _string_names(module)
    key_names = set(keys.values())

    def text(node: ast.expr | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return names.get(node.id)
        return None

    def says_key_field(name: str) -> bool:
        return "key_field" in name.lower()

    for node in ast.walk(module.tree):
        siblings: list[ast.expr | None] = []
        if isinstance(node, ast.Call):
            siblings = [*node.args, *(k.value for k in node.keywords)]
            for keyword in node.keywords:
                arg, value = keyword.arg or "", text(keyword.value)
                paired = arg in keys and value == keys[arg]
                if paired or (says_key_field(arg) and value in key_names):
                    yield node.lineno, f"{arg}={value!r}"
        elif isinstance(node, ast.Dict):
            siblings = [*node.keys, *node.values]
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            siblings = list(node.elts)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = text(node.value)
            for target in targets:
                name = target.id if isinstance(target, ast.Name) else None
                name = target.attr if isinstance(target, ast.Attribute) else name
                if name and says_key_field(name) and value in key_names:
                    yield node.lineno, f"{name} = {value!r}"
        literals = {t for t in map(text, siblings) if t is not None}
        for view, key_field in keys.items():
            if view in literals and key_field in literals:
                yield getattr(node, "lineno", 0), f"{view!r} beside {key_field!r}"


def test_the_api_never_imports_the_merge() -> None:
    found = [
        f"{m.path}:{line} imports {name}"
        for m in modules()
        if _within(m.dotted, API)
        for line, name in imported_modules(m)
        if _within(name, MERGE)
    ]
    assert found == []


def test_only_the_contracts_declare_view_key_fields() -> None:
    keys = view_keys()
    found = [
        f"{m.path}:{line} {what}"
        for m in modules()
        if m.package != "schemas"
        for line, what in key_field_declarations(m, keys)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("services/api/a.py", "import services.merge.rules"),
        ("services/api/a.py", "from services.merge.records import json_record"),
        ("services/api/a.py", "from services import merge"),
        ("services/api/live/a.py", "from ...merge import rules"),
        ("services/api/a.py", "def f():\n    from services.merge import rules"),
    ],
)
def test_the_merge_import_detector_sees_every_form(path: str, source: str) -> None:
    assert any(_within(name, MERGE) for _, name in imported_modules(parse(path, source)))


KEYS = {"alert": "alert_id", "household": "dwelling_id"}
# --- the tests themselves: shared helpers live in tests/support/ --------------------------
#
# A test module is a specification, never a library: what two modules share lives in
# tests/support/, and conftest.py files hold fixtures, which pytest injects by name.

SUPPORT = "tests.support"


def suite_modules() -> list[Module]:
    """Every Python file under ``tests/``, parsed."""
    return [
        parse(file.relative_to(ROOT).as_posix(), file.read_text(encoding="utf-8"))
        for file in sorted((ROOT / "tests").rglob("*.py"))
    ]


def _in_support(name: str) -> bool:
    return name == SUPPORT or name.startswith(SUPPORT + ".")


def imported_test_code(module: Module) -> Iterator[tuple[int, str]]:
    """(line, name) of everything imported from ``tests`` outside ``tests.support``.

    ``from tests.unit import test_x`` names ``tests.unit.test_x``, so a module imported
    through its package is seen as well as one imported by its own name.
    """
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            names = [base] if _in_support(base) else [f"{base}.{a.name}" for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in DYNAMIC_IMPORTS
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names = [str(node.args[0].value)]
        else:
            continue
        for name in names:
            if top(name) == "tests" and not _in_support(name):
                yield node.lineno, name


def test_tests_import_no_test_module_and_no_helper_outside_tests_support() -> None:
    found = suite_modules()
    paths = {m.path for m in found}
    assert {"tests/support/hub.py", "tests/integration/test_pipeline.py"} <= paths
    misplaced = [
        m.path
        for m in found
        if not m.path.startswith("tests/support/")
        and Path(m.path).name not in ("__init__.py", "conftest.py")
        and not Path(m.path).name.startswith("test_")
    ]
    assert misplaced == [], "helper modules belong in tests/support/"
    crossing = [
        f"{m.path}:{line} imports {name}" for m in found for line, name in imported_test_code(m)
    ]
    assert crossing == [], "tests import helpers from tests/support/ only"


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("tests/unit/test_a.py", "from tests.unit.test_b import helper", "tests.unit.test_b"),
        ("tests/unit/test_a.py", "from tests.unit import test_b", "tests.unit.test_b"),
        ("tests/unit/test_a.py", "import tests.integration.test_b", "tests.integration.test_b"),
        ("tests/unit/test_a.py", "from .test_b import helper", "tests.unit.test_b"),
        ("tests/unit/test_a.py", "from . import test_b", "tests.unit.test_b"),
        ("tests/unit/test_a.py", "from tests.conftest import wait_for", "tests.conftest"),
        ("tests/unit/test_a.py", "from tests.helpers import f", "tests.helpers"),
        ("tests/support/hub.py", "from tests.unit.test_b import f", "tests.unit.test_b"),
        (
            "tests/unit/test_a.py",
            "import importlib\nimportlib.import_module('tests.unit.test_b')",
            "tests.unit.test_b",
        ),
    ],
)
def test_the_test_code_detector_sees_every_form(path: str, source: str, expected: str) -> None:
    assert any(name.startswith(expected) for _, name in imported_test_code(parse(path, source)))


@pytest.mark.parametrize(
    "source",
    [
        'KEY_FIELDS = {"alert": "alert_id"}',
        'ALERT_VIEW = "alert"\nKEYS = {**OTHERS, ALERT_VIEW: "alert_id"}',
        'SPEC = ViewSpec(name="household", key_field="dwelling_id", ownership=o)',
        'SPEC = ViewSpec("household", "dwelling_id")',
        'PAIRS = [("household", "dwelling_id")]',
        'KEYS = dict(household="dwelling_id")',
        'def f():\n    return Feed(key_field="dwelling_id")',
        'ALERT_KEY_FIELD = "alert_id"',
        'class Spec:\n    key_field: str = "alert_id"',
    ],
)
def test_the_key_field_detector_sees_every_form(source: str) -> None:
    assert list(key_field_declarations(parse("services/a.py", source), KEYS)) != []


@pytest.mark.parametrize(
    "source",
    [
        'key_field = catalog.view("alert").key_field',
        'record = {"dwelling_id": row.key, **fields}',
        'Update(HOUSEHOLD.name, r["dwelling_id"], values)',
        'own = key if contract.key_field == "community_code" else None',
    ],
)
def test_the_key_field_detector_ignores_uses_of_a_key_field(source: str) -> None:
    assert list(key_field_declarations(parse("services/a.py", source), KEYS)) == []


@pytest.mark.parametrize(
    "source",
    [
        "metadata.create_all(engine)",
        "Base.metadata.create_all(bind=engine, checkfirst=True)",
        "from x import metadata\nmake = metadata.create_all\nmake(engine)",
        "sa.MetaData().create_all(engine)",
    ],
)
def test_the_create_all_detector_sees_every_form(source: str) -> None:
    assert list(create_all_calls(parse("services/a.py", source))) != []


def test_the_create_all_detector_ignores_drop_all_and_strings() -> None:
    source = "metadata.drop_all(engine)\nnote = 'never call create_all here'"
    assert list(create_all_calls(parse("services/a.py", source))) == []


@pytest.mark.parametrize(
    "source",
    [
        "from tests.support.hub import Hub",
        "from tests.support import factories",
        "from tests import support",
        "import tests.support.oracle",
        "from ..support.pipeline import deliver",
    ],
)
def test_the_test_code_detector_lets_tests_support_through(source: str) -> None:
    assert list(imported_test_code(parse("tests/unit/test_a.py", source))) == []
