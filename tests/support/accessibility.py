"""Accessibility checks of a page with axe-core, vendored by the test set-up (`make test`
fetches it from the npm registry at a pinned version; never a CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

VENDOR = Path(__file__).resolve().parents[2] / "var" / "vendor"
BLOCKING = frozenset({"serious", "critical"})


def axe_script() -> Path:
    """The vendored axe.min.js; AssertionError saying how to fetch it when it is missing."""
    found = sorted(VENDOR.glob("axe-core-*/axe.min.js"))
    assert found, f"axe-core is not in {VENDOR}: run `make test` (its set-up vendors it)"
    return found[-1]


def blocking_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on ``page`` as it is now, one line each."""
    page.add_script_tag(path=str(axe_script()))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        f"{v['impact']} {v['id']}: {v['help']} ({', '.join(str(n['target']) for n in v['nodes'])})"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]
