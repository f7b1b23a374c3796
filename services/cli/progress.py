"""Progress bars (rich, on standard error) for long loads run by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

_LINE_COUNTED = (".csv", ".jsonl")


@contextmanager
def load_progress(path: Path, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A callback advancing a bar for ``path``'s records, or None when not on a terminal.

    CSV and JSON-lines files are line-counted for a total (a quoted field spanning lines
    makes it a slight over-estimate); a workbook's bar shows the count and rate only.
    """
    if not enabled or not Console(stderr=True).is_terminal:
        yield None
        return
    total = _count_lines(path) if path.suffix.lower() in _LINE_COUNTED else None
    with count_progress(path.name, total) as advance:
        yield advance


@contextmanager
def count_progress(label: str, total: int | None) -> Iterator[Callable[[int], None] | None]:
    """A bar for ``total`` items (a replay of parked records, a rebuild's events), or None
    when not on a terminal."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(label, total=total)
        yield lambda count: progress.advance(task, count)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    return max(0, lines - 1)  # the header row
