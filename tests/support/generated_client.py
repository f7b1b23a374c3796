"""A Python client generated from the hub's OpenAPI document by openapi-python-client (a dev
dependency), imported from a temporary folder as a department's own code would be."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "datong_client"
# Literal types for enums: the contract's words (阳性) are values, not identifiers.
CONFIG = "literal_enums: true\npost_hooks: []\n"


@contextmanager
def generated_client(document: dict[str, Any], folder: Path) -> Iterator[ModuleType]:
    """Generate the client of ``document`` into ``folder`` and import it; it is unloaded
    when the block ends. A generator failure fails with its output."""
    (folder / "openapi.json").write_text(json.dumps(document), encoding="utf-8")
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    generator = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(folder / "openapi.json"),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(folder / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not (folder / PACKAGE / "__init__.py").is_file():
        raise AssertionError(f"openapi-python-client failed:\n{done.stdout}\n{done.stderr}")
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(package: ModuleType, name: str) -> Any:
    """A module of the generated package, e.g. ``api.default.get_views_view_key``."""
    return importlib.import_module(f"{package.__name__}.{name}")
