"""Processes under measurement: merge workers and the limit consumers, and their databases.

Every consumer is timed from the first batch it shows to the batch that completes the
expected count, so start-up and the consumer-group join are left out the same way for
the merge worker (seen through its ``/metrics``) and for the limits (which report it).
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.bench import rss
from services.bench.scrape import Scrape, scrape
from services.broker import free_port
from services.errors import DatongError
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry

ROOT = Path(__file__).resolve().parents[2]
# How often the worker's /metrics is read: often enough for a run of a few seconds,
# rarely enough that serving the scrapes costs the worker next to nothing.
SCRAPE_INTERVAL_S = 0.05


class BenchError(DatongError):
    """A measurement could not be taken (a process died, a count never arrived)."""


@dataclass(frozen=True)
class Span:
    """``count`` records seen by a consumer; ``first_count`` of them at ``first_t``."""

    count: int
    first_count: int
    first_t: float
    last_t: float

    @property
    def rate(self) -> float:
        """Records per second after the first batch (which only marks the start)."""
        if self.last_t > self.first_t and self.count > self.first_count:
            return (self.count - self.first_count) / (self.last_t - self.first_t)
        # Everything arrived in one batch or one scrape (tiny runs only): report the
        # rate as if it had taken one scrape interval, a floor rather than a measurement.
        return self.count / SCRAPE_INTERVAL_S

    @property
    def seconds(self) -> float:
        """From the first batch to the last."""
        return self.last_t - self.first_t


def hub_env(
    bootstrap: str,
    database_url: str,
    var_dir: Path,
    partitions: int,
    holiday_calendar: Path | None = None,
) -> dict[str, str]:
    """The ``DATONG_*`` environment of one worker (and nothing else of the bench's own but
    the operator's holiday calendar file, without which its API refuses to start in a year
    the calendar package does not cover)."""

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    calendar = (
        {} if holiday_calendar is None else {"DATONG_HOLIDAY_CALENDAR": str(holiday_calendar)}
    )
    return {
        **calendar,
        "DATONG_KAFKA_BOOTSTRAP": bootstrap,
        "DATONG_DATABASE_URL": database_url,
        "DATONG_VAR_DIR": str(var_dir),
        "DATONG_HMAC_KEY": key(),
        "DATONG_SEAL_KEY": key(),
        "DATONG_CONSUMER_GROUP": f"bench-{uuid.uuid4().hex[:8]}",
        "DATONG_SESSION_TIMEOUT_S": "3",
        "DATONG_WORKER_METRICS_PORT": str(free_port()),
        "DATONG_PARTITIONS": str(partitions),
        "DATONG_TOPICS": "manage",  # the bench's own embedded broker
        "DATONG_METRICS_AUTH": "open",  # scraped by the bench itself, on this machine
        "DATONG_DATABASE_TLS": "unchecked",  # the bench's own local database
    }


class Child:
    """A Python child process of the bench, logging to a file."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as handle:
            self.process = subprocess.Popen(
                [sys.executable, *args], env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT
            )

    def check_alive(self, what: str) -> None:
        """Raise BenchError with the log's tail if the process has exited."""
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise BenchError(f"{what} exited with {self.process.returncode}:\n{tail}")

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far, in MiB (read before ``stop``)."""
        return rss.peak_mb(self.process.pid)

    def rss_mb(self) -> float:
        """The process's resident memory now, in MiB."""
        return rss.current_mb(self.process.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Worker(Child):
    """``python -m services.cli worker`` under the given environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__(["-m", "services.cli", "worker"], env, log)
        self.metrics_url = f"http://127.0.0.1:{env['DATONG_WORKER_METRICS_PORT']}/metrics"

    def scrape(self) -> Scrape:
        """The worker's /metrics now (empty until it serves)."""
        return scrape(self.metrics_url)

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        """Every sample called ``name`` on the worker's /metrics (empty until it serves)."""
        return self.scrape().of(name)

    def merged(self) -> int:
        """Source events merged so far, any outcome (``datong_merge_events_total`` summed)."""
        return int(sum(value for _, value in self.samples("datong_merge_events_total")))

    def buckets(self, name: str) -> dict[float, float]:
        """A histogram's cumulative bucket counts by upper bound, summed over its labels."""
        counts: dict[float, float] = {}
        for labels, value in self.samples(f"{name}_bucket"):
            bound = float(labels["le"])
            counts[bound] = counts.get(bound, 0.0) + value
        return counts

    def watch(self, expected: int, timeout_s: float) -> Span:
        """Wait until ``expected`` events were merged; return the span from first to last."""
        deadline = time.monotonic() + timeout_s
        first: tuple[int, float] | None = None
        while time.monotonic() < deadline:
            self.check_alive("the merge worker")
            merged = self.merged()
            now = time.time()
            if merged and first is None:
                first = (merged, now)
            if first is not None and merged >= expected:
                return Span(merged, first[0], first[1], now)
            time.sleep(SCRAPE_INTERVAL_S)
        raise BenchError(f"the merge worker merged {self.merged()} of {expected} in {timeout_s}s")


class Api(Child):
    """``python -m services.cli api`` on a free port of 127.0.0.1 under the given environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        port = free_port()
        env = {**env, "DATONG_API_HOST": "127.0.0.1", "DATONG_API_PORT": str(port)}
        super().__init__(["-m", "services.cli", "api"], env, log)
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until ``/healthz`` answers; raise BenchError if the API died or never did."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check_alive("the API")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"the API at {self.url} did not answer /healthz in {timeout_s}s")


def run_to_end(args: Sequence[str], env: dict[str, str], log: Path, timeout_s: float) -> float:
    """Run ``python -m MODULE ARG...`` (``args``) to its end; return its peak RSS in MiB.

    Raises BenchError with the log's tail if it fails or outlives ``timeout_s``.
    """
    module, *rest = args
    out = log.with_suffix(".peak")
    child = Child(["-m", "services.bench.peak", str(out), module, *rest], env, log)
    try:
        child.process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{module} did not finish in {timeout_s:g}s") from None
    finally:
        child.stop()
    if child.process.returncode:
        child.check_alive(module)  # raises, with the log's tail
    return float(out.read_text())


@dataclass(frozen=True)
class Consumed:
    """What one limit consumer did: its span, and its peak memory when it was done."""

    label: str
    span: Span
    peak_rss_mb: float


def consume(
    kind: str,
    env: dict[str, str],
    topics: Sequence[str],
    expected: int,
    *,
    tmp: Path,
    timeout_s: float,
) -> tuple[Span, float]:
    """Run one limit consumer (``faust`` or ``aiokafka``) until it saw ``expected`` records.

    Returns its span and its peak RSS (MiB) at that moment.
    """
    out = tmp / f"{kind}-span.json"
    args = ["-m", "services.bench.consumers", kind, "--topics", ",".join(topics)]
    child = Child([*args, "--expected", str(expected), "--out", str(out)], env, tmp / f"{kind}.log")
    try:
        deadline = time.monotonic() + timeout_s
        while not out.exists():
            child.check_alive(f"the {kind} consumer")
            if time.monotonic() > deadline:
                raise BenchError(f"the {kind} consumer did not see {expected} records")
            time.sleep(0.1)
        peak = child.peak_rss_mb()
        data = json.loads(out.read_text())
        return Span(data["count"], data["first_count"], data["first_t"], data["last_t"]), peak
    finally:
        child.stop()


def prepare_store(url: str, catalog: Catalog) -> dict[str, int]:
    """Create the store's tables and register every schema in catalog order.

    The embedded registry numbers schemas in the order they are registered, so every
    store registered this way gives each schema the same id as the connector's.
    """
    engine = create_engine(url)
    try:
        create_schema(engine)
        serde = Serde(catalog, SqlRegistry(engine))
        return {c.value_subject: serde.schema_id(c) for c in catalog}
    finally:
        engine.dispose()


@contextmanager
def fresh_postgres(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``admin_url``'s, dropped afterwards."""
    name = f"datong_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.SQLAlchemyError as exc:
        admin.dispose()
        raise BenchError(f"cannot create a PostgreSQL database at {admin_url}: {exc}") from exc
    try:
        url = sa.engine.make_url(admin_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
