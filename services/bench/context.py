"""What the steps of one bench run share: sizes, the broker, the export's payloads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from schemas.catalog import Catalog
from services.bench import processes
from services.bench.connector import Payload
from services.bench.report import BenchReport

VIEW = "resident_profile"


@dataclass(frozen=True)
class Sizes:
    """How much a run does: the export's rows and the latency run's offered load."""

    events: int
    latency_rate: float
    latency_seconds: float
    partitions: int = 4

    @classmethod
    def of(cls, quick: bool, scale: float) -> Sizes:
        """Quick: under a minute on two cores; full: under ten. ``scale`` shrinks both."""
        events, seconds = (6_000, 5.0) if quick else (100_000, 60.0)
        return cls(max(500, int(events * scale)), 1_000.0, max(1.0, seconds * min(1.0, scale)))


@dataclass
class Run:
    """State shared by the steps of one run."""

    report: BenchReport
    sizes: Sizes
    tmp: Path
    bootstrap: str
    catalog: Catalog
    sqlite_url: str
    postgres_url: str
    seed: int
    payloads: list[Payload]
    limit_spans: list[tuple[str, processes.Span]] | None = None

    def env(self, database_url: str, name: str, bootstrap: str | None = None) -> dict[str, str]:
        """A worker's ``DATONG_*`` environment, with its own var directory."""
        return processes.hub_env(
            bootstrap or self.bootstrap, database_url, self.tmp / name, self.sizes.partitions
        )

    @property
    def merge_topics(self) -> list[str]:
        """The topics the merge worker subscribes to (every source topic that feeds a view)."""
        return sorted(c.topic for c in self.catalog.sources())

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        """Record in the report how many seconds the ``with`` block took."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.report.steps[step] = round(time.monotonic() - started, 1)

    def timeout(self, rate_floor: float = 100.0) -> float:
        """Long enough to handle every event at ``rate_floor``/s, plus start-up."""
        return 60.0 + self.sizes.events / rate_floor
