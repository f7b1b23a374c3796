"""A headless Debian chromium page the size of a phone, for the page tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's; `make test` installs it (never a downloaded build)


@contextmanager
def phone_page() -> Iterator[Page]:
    """A new page 390 x 844 (a phone) in a browser closed when the block ends."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser.new_page(viewport={"width": 390, "height": 844})
        finally:
            browser.close()


# Where the page tests leave their screenshots (under var/, which git ignores; CI keeps it).
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot of ``page`` as ``var/test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
