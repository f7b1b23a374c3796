"""A headless Debian chromium page the size of a phone, for the page tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
