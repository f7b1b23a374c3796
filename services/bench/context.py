"""What the steps of one bench run share: sizes, the broker, the export's payloads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from schemas.catalog import Catalog
from services.bench import processes
from services.bench.connector import Payload
from services.bench.report import BenchReport, Detail
from services.bench.stats import Latencies

VIEW = "resident_profile"


@dataclass(frozen=True)
class Sizes:
    """How much a run does, step by step."""

    events: int  # rows of the export the throughput steps publish and merge
    latency_rates: tuple[float, ...]  # offered loads of the latency runs, events/s
    latency_seconds: float  # how long each load is offered
    readers: int  # concurrent readers of the view query run
    query_rows: int  # resident_profile rows they read from
    query_seconds: float  # how long each kind of reader runs
    residents: tuple[int, ...]  # rows already in the views, one merge run each
    scaling_events: int  # the fixed batch each of those runs merges
    demo_residents: int  # the demo community two workers merge
    partitions: int = 4
    # Stores of the event-to-view latency runs: the targets are on PostgreSQL.
    latency_stores: tuple[str, ...] = ("PostgreSQL", "SQLite")

    @classmethod
    def of(cls, quick: bool, scale: float) -> Sizes:
        """Quick: three to four minutes on two cores; full: under fifteen. ``scale`` shrinks all."""
        if quick:
            events, seconds, rows, query_s, batch = 6_000, 5.0, 10_000, 4.0, 4_000
            residents: tuple[int, ...] = (10_000, 100_000)
            demo = 1_000
        else:
            events, seconds, rows, query_s, batch = 100_000, 60.0, 100_000, 15.0, 20_000
            residents = (10_000, 100_000, 1_000_000)
            demo = 3_000

        def count(n: int, floor: int) -> int:
            return max(floor, int(n * scale))

        def duration(s: float) -> float:
            return max(1.0, s * min(1.0, scale))

        return cls(
            events=count(events, 500),
            latency_rates=(20.0, 1_000.0, 5_000.0),
            latency_seconds=duration(seconds),
            readers=50,
            query_rows=count(rows, 1_000),
            query_seconds=duration(query_s),
            residents=tuple(count(n, 1_000) for n in residents),
            scaling_events=count(batch, 500),
            demo_residents=count(demo, 100),
        )

    def describe(self) -> Detail:
        """The sizes as the report's header shows them."""
        return {
            "events": self.events,
            "partitions": self.partitions,
            "latency load": "/".join(f"{r:,.0f}" for r in self.latency_rates)
            + f"/s for {self.latency_seconds:g} s on {' and '.join(self.latency_stores)}",
            "readers": f"{self.readers} for {self.query_seconds:g} s on {self.query_rows:,} rows",
            "residents": "/".join(f"{n:,}" for n in self.residents)
            + f" + {self.scaling_events:,} events",
            "two workers": f"demo community of {self.demo_residents:,} residents",
        }


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
    limits: list[processes.Consumed] | None = None  # the merge rate's, measured once
    # The event-to-view latency's raw limits, by the rate they were paced at (events/s).
    raw_limits: list[tuple[float, dict[int, Latencies]]] = field(default_factory=list)
    holiday_calendar: Path | None = None  # the operator's DATONG_HOLIDAY_CALENDAR, absolute

    def env(self, database_url: str, name: str, bootstrap: str | None = None) -> dict[str, str]:
        """A worker's ``DATONG_*`` environment, with its own var directory."""
        return processes.hub_env(
            bootstrap or self.bootstrap,
            database_url,
            self.tmp / name,
            self.sizes.partitions,
            self.holiday_calendar,
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
