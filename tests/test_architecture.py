"""Import direction and configuration access, checked on the source's syntax trees.

``connectors -> schemas <- services``: the contracts depend on nothing of ours, connectors
and services never import each other except in the composition roots, and only the
entry point reads the process environment.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("connectors", "schemas", "services")
COMPOSITION_ROOTS = {
    "services/cli/__init__.py",
    "services/cli/connector.py",
    "services/cli/admin.py",
    "services/cli/hub.py",
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
        "from tests.support.hub import Hub",
        "from tests.support import factories",
        "from tests import support",
        "import tests.support.oracle",
        "from ..support.pipeline import deliver",
    ],
)
def test_the_test_code_detector_lets_tests_support_through(source: str) -> None:
    assert list(imported_test_code(parse("tests/unit/test_a.py", source))) == []
