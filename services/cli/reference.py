"""Reference pages the code can write itself: every CLI command, every metric, every event's
HTTP push.

``python -m services.cli.reference`` writes ``docs/cli.md``, ``docs/metrics.md`` and
``docs/ingest.md`` from the ``datong`` command's parser, the processes' metric definitions
and the events' JSON Schemas; a test fails when a page differs from what this module makes
of the code, so the pages never drift from it.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from connectors.metrics import ConnectorMetrics
from schemas.catalog import Catalog
from services.cli import _parser
from services.cli.ingest_page import ingest_page
from services.metrics import ApiMetrics, MergeMetrics, QualityMetrics, SubscriptionMetrics
from services.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
WIDTH = 100  # the help text's width, fixed: the page must not depend on a terminal
# Which process serves which metrics (each on its own private registry).
PROCESSES = (
    ("merge worker (`datong worker`)", (MergeMetrics,)),
    ("API (`datong api`)", (ApiMetrics, SubscriptionMetrics)),
    ("feed quality consumer (`datong quality`)", (QualityMetrics,)),
    ("connector (`datong connector run --watch`)", (ConnectorMetrics,)),
)


def cli_page() -> str:
    """``docs/cli.md``: the help of ``datong`` and of every one of its commands."""
    parser = _parser()
    lines = [
        "# `datong` command reference",
        "",
        "Written by `python -m services.cli.reference` from the command's own parser (a test",
        "fails when this page is stale). Every command reads its settings from `DATONG_*`",
        "variables ([operations.md](operations.md#configuration)).",
        "",
    ]
    for name, command in _commands(parser, "datong"):
        lines += [f"## `{name}`", "", "```", _help(command).rstrip(), "```", ""]
    return "\n".join(lines)


def _commands(
    parser: argparse.ArgumentParser, name: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:  # argparse keeps its subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _commands(sub, f"{name} {sub_name}")


def _help(parser: argparse.ArgumentParser) -> str:
    parser.formatter_class = functools.partial(argparse.HelpFormatter, width=WIDTH)
    return parser.format_help()


def metrics_page() -> str:
    """``docs/metrics.md``: every metric each process serves, with its type, labels and help."""
    lines = [
        "# Metrics",
        "",
        "Written by `python -m services.cli.reference` from the metric definitions (a test",
        "fails when this page is stale). Each long-running process serves its own `/metrics`",
        "on a private registry; labels come from small closed sets, never a key or an id.",
        "With `DATONG_METRICS_AUTH=token` (the default when `DATONG_KAFKA_BOOTSTRAP` is set)",
        "a scrape must send `Authorization: Bearer $DATONG_METRICS_TOKEN`, else it gets 401",
        "([operations.md](operations.md#configuration)).",
        "",
    ]
    for process, kinds in PROCESSES:
        lines += [
            f"## {process}",
            "",
            "| metric | type | labels | meaning |",
            "| --- | --- | --- | --- |",
        ]
        for name, kind, labels, doc in _metrics(kinds):
            lines.append(f"| `{name}` | {kind} | {', '.join(labels) or '—'} | {doc} |")
        lines.append("")
    return "\n".join(lines)


def _metrics(kinds: tuple[type, ...]) -> list[tuple[str, str, tuple[str, ...], str]]:
    registry = CollectorRegistry()
    for kind in kinds:
        kind(registry)
    found = []
    collectors: dict[Any, list[str]] = {}
    for name, collector in registry._names_to_collectors.items():  # the public API hides labels
        collectors.setdefault(collector, []).append(name)
    for collector in collectors:
        shown = f"{collector._name}_total" if collector._type == "counter" else collector._name
        found.append(
            (shown, collector._type, tuple(collector._labelnames), collector._documentation)
        )
    return sorted(found)


def ingest_reference() -> str:
    """``docs/ingest.md``: every event's HTTP push, field by field, at the default batch limit."""
    return ingest_page(Catalog.load(), Settings.from_env({}).ingest_max_records)


def write(docs: Path = DOCS) -> list[Path]:
    """Write the pages under ``docs``; return their paths."""
    pages = {
        docs / "cli.md": cli_page(),
        docs / "metrics.md": metrics_page(),
        docs / "ingest.md": ingest_reference(),
    }
    for path, text in pages.items():
        path.write_text(text, encoding="utf-8")
    return list(pages)


if __name__ == "__main__":
    for written in write():
        print(written, file=sys.stderr)
