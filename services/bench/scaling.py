"""How the merge rate changes with the residents already in the views (PostgreSQL).

One fixed batch of events is published once, on a broker of its own: moves of residents
every store already holds and as many registrations of new ones. For each size, a fresh
database is filled with that many resident_profile rows (``prefill``) and a fresh merge
worker merges the whole batch from the start under a new consumer group; the bare faust
agent consumes the same batch once. Each rate is compared with the smallest store's and
with the bare agent's.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from schemas.serde import Serde
from services.bench import connector, prefill, processes
from services.bench.context import Run
from services.bench.data import touching_export
from services.bench.report import Detail, Figure
from services.broker import EmbeddedBroker, free_port
from services.store.database import create_engine
from services.store.registry_store import SqlRegistry
from services.topics import ensure_topics, topic_specs

NEW_FIRST = 20_000_001  # the batch's new residents: beyond any store's


@dataclass(frozen=True)
class Level:
    """The worker's merge of the batch over a store holding ``residents`` rows."""

    residents: int
    span: processes.Span
    peak_rss_mb: float


def merge_rate_by_residents(run: Run) -> None:
    """The batch merged over each store size of ``run.sizes.residents``, then the figures."""
    tmp = run.tmp / "scaling"
    tmp.mkdir()
    hmac_key = secrets.token_bytes(32)
    smallest = min(run.sizes.residents)
    with EmbeddedBroker(free_port(), log_path=tmp / "broker.log") as broker:
        ensure_topics(broker.bootstrap, topic_specs(run.catalog, run.sizes.partitions))
        with run.timed("residents: publish the batch"):
            events = _publish_batch(run, broker.bootstrap, hmac_key, smallest)
        levels = [
            _level(run, broker.bootstrap, hmac_key, residents, events)
            for residents in sorted(run.sizes.residents)
        ]
        with run.timed("residents: bare faust agent"):
            limit, _ = processes.consume(
                "faust",
                run.env(run.sqlite_url, "scaling-faust", broker.bootstrap),
                run.merge_topics,
                events,
                tmp=tmp,
                timeout_s=60.0 + events / 1000.0,
            )
    first = levels[0]
    for level in levels:
        name = f"merge rate with {level.residents:,} residents in the view (PostgreSQL)"
        detail: Detail = {
            "events": level.span.count,
            "seconds": round(level.span.seconds, 3),
            "worker peak RSS MiB": round(level.peak_rss_mb, 1),
        }
        if level is not first:
            run.report.figures.append(
                Figure(
                    name,
                    level.span.rate,
                    f"the same batch with {first.residents:,} residents",
                    first.span.rate,
                    "events/s",
                    detail=detail,
                )
            )
        run.report.figures.append(
            Figure(name, level.span.rate, "bare faust agent", limit.rate, "events/s", detail=detail)
        )


def _publish_batch(run: Run, bootstrap: str, hmac_key: bytes, smallest: int) -> int:
    """Publish the batch through the connector; return how many events it holds."""
    moved = random.Random(run.seed).sample(
        range(1, smallest + 1), min(smallest, run.sizes.scaling_events // 2)
    )
    export = touching_export(moved, NEW_FIRST, run.seed)
    csv_path = run.tmp / "scaling" / "batch.csv"
    csv_path.write_bytes(export.csv)
    url = f"sqlite:///{run.tmp / 'scaling' / 'registry.db'}"
    processes.prepare_store(url, run.catalog)
    engine = create_engine(url)
    try:
        published = connector.run_connector(
            bootstrap,
            Serde(run.catalog, SqlRegistry(engine)),
            csv_path,
            hmac_key=hmac_key,
            seal_key=secrets.token_bytes(32),
            var_dir=run.tmp / "scaling" / "connector",
        )
    finally:
        engine.dispose()
    return published.published


def _level(run: Run, bootstrap: str, hmac_key: bytes, residents: int, events: int) -> Level:
    """Fill a fresh store with ``residents`` rows; time a fresh worker merging the batch."""
    smallest = min(run.sizes.residents)
    with processes.fresh_postgres(run.postgres_url) as url:
        processes.prepare_store(url, run.catalog)
        with run.timed(f"residents {residents:,}: fill the store"):
            rows = (
                prefill.profile_row(*resident)
                for resident in connector.residents(hmac_key, range(1, smallest + 1))
            )
            prefill.fill(url, rows, residents)
        name = f"scaling-{residents}"
        worker = processes.Worker(
            run.env(url, name, bootstrap), run.tmp / "scaling" / f"worker-{residents}.log"
        )
        try:
            with run.timed(f"residents {residents:,}: worker start to all merged"):
                span = worker.watch(events, 60.0 + events / 100.0)
            return Level(residents, span, worker.peak_rss_mb())
        finally:
            worker.stop()
