"""The reference pages are what the code says: regenerate them when a command or metric changes."""

from __future__ import annotations

import pytest

from services.cli.reference import DOCS, cli_page, ingest_reference, metrics_page


@pytest.mark.parametrize(
    ("page", "make"),
    [("cli.md", cli_page), ("metrics.md", metrics_page), ("ingest.md", ingest_reference)],
)
def test_the_page_is_what_the_code_makes_of_it(page: str, make: object) -> None:
    kept = (DOCS / page).read_text(encoding="utf-8")
    assert kept == make(), f"docs/{page} is stale: run `make docs`"  # type: ignore[operator]


def test_every_command_and_subcommand_has_its_section() -> None:
    page = cli_page()
    for command in ("datong up", "datong worker", "datong connector run", "datong tokens revoke"):
        assert f"## `{command}`" in page


def test_every_process_metric_is_listed_with_its_labels() -> None:
    page = metrics_page()
    assert "| `datong_merge_retries_total` | counter | reason |" in page
    assert "| `datong_connector_records_total` | counter | department, event, outcome |" in page


def test_every_event_has_its_push_section_with_its_fields() -> None:
    page = ingest_reference()
    assert "### `POST /ingest/health/test-result-reported` (TestResultReported)" in page
    assert "| `result` | yes | `POSITIVE`, `NEGATIVE`, `INCONCLUSIVE` or `阴性`" in page
    assert "| `id_number` | this or `person_key` |" in page
    assert "| `event_time` | yes | a time (forms above) or epoch milliseconds |" in page
