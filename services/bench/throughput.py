"""Throughput steps: the connector against the raw producers, the merge worker against
the bare faust agent and raw aiokafka, all on the same export and the same topics."""

from __future__ import annotations

import secrets

from schemas.serde import Serde
from services.bench import connector, processes, producers
from services.bench.context import Run
from services.bench.data import registry_export
from services.bench.report import Detail, Figure, Target
from services.store.database import create_engine
from services.store.registry_store import SqlRegistry
from services.topics import TopicSpec, ensure_topics, topic_specs

RAW_PRODUCERS = ("kafka-python", "confluent-kafka")


def create_topics(run: Run) -> None:
    """The catalog's topics, and a copy of each source topic per raw producer."""
    specs = topic_specs(run.catalog, run.sizes.partitions)
    sources = [s.name for s in specs if s.name.startswith("src.")]
    specs += [
        TopicSpec(producers.bench_topic(client, topic), run.sizes.partitions, False)
        for client in RAW_PRODUCERS
        for topic in sources
    ]
    ensure_topics(run.bootstrap, specs)


def connector_rate(run: Run) -> None:
    """Publish the export through the connector, then its payloads through each raw producer."""
    ids = processes.prepare_store(run.sqlite_url, run.catalog)
    export = registry_export(run.sizes.events, run.seed)
    csv_path = run.tmp / "registry.csv"
    csv_path.write_bytes(export.csv)
    engine = create_engine(run.sqlite_url)
    try:
        serde = Serde(run.catalog, SqlRegistry(engine))
        if {c.value_subject: serde.schema_id(c) for c in run.catalog} != ids:
            raise processes.BenchError("the connector's schema ids differ from the store's")
        hmac_key = secrets.token_bytes(32)
        published = connector.run_connector(
            run.bootstrap,
            serde,
            csv_path,
            hmac_key=hmac_key,
            seal_key=secrets.token_bytes(32),
            var_dir=run.tmp / "connector",
        )
        run.payloads = connector.encode_export(serde, hmac_key, csv_path)
    finally:
        engine.dispose()
    detail: Detail = {
        "rows": export.rows,
        "registered": export.registered,
        "moved": export.moved,
        "deregistered": export.deregistered,
        "seconds": round(published.seconds, 3),
    }
    rate = published.published / published.seconds
    name = "connector publish rate (CSV -> Avro -> Kafka)"
    for label, measure in (
        ("raw kafka-python producer", producers.kafka_python_seconds),
        ("raw confluent-kafka producer", producers.confluent_seconds),
    ):
        seconds = measure(run.bootstrap, run.payloads)
        target = Target(0.7) if "kafka-python" in label else None
        run.report.figures.append(
            Figure(name, rate, label, len(run.payloads) / seconds, "events/s", target, detail)
        )


def merge_rate_postgres(run: Run) -> None:
    """The merge worker on a fresh PostgreSQL database, then the limits."""
    with processes.fresh_postgres(run.postgres_url) as url:
        processes.prepare_store(url, run.catalog)
        span, peak = _merge(run, url, "PostgreSQL")
    _merge_figures(run, "PostgreSQL", span, peak)


def merge_rate_sqlite(run: Run) -> None:
    """The merge worker on the SQLite store that also served as the connector's registry."""
    _merge_figures(run, "SQLite", *_merge(run, run.sqlite_url, "SQLite"))


def _merge(run: Run, url: str, store: str) -> tuple[processes.Span, float]:
    """The worker's span over the export, and its peak RSS (MiB) once all was merged."""
    worker = processes.Worker(run.env(url, f"worker-{store}"), run.tmp / f"worker-{store}.log")
    try:
        with run.timed(f"{store} worker: start to all merged"):
            span = worker.watch(len(run.payloads), run.timeout())
        return span, worker.peak_rss_mb()
    finally:
        worker.stop()


def _merge_figures(run: Run, store: str, merged: processes.Span, peak_mb: float) -> None:
    if run.limits is None:
        run.limits = _limits(run)
    name = f"merge rate per worker ({store})"
    detail: Detail = {"events": merged.count, "seconds": round(merged.seconds, 3)}
    detail |= {f"{limit.label} seconds": round(limit.span.seconds, 3) for limit in run.limits}
    for limit in run.limits:
        target = Target(0.7) if "faust" in limit.label else None
        run.report.figures.append(
            Figure(name, merged.rate, limit.label, limit.span.rate, "events/s", target, detail)
        )
    for limit in run.limits:
        run.report.figures.append(
            Figure(
                f"peak memory: merge worker ({store})",
                peak_mb,
                f"{limit.label} process",
                limit.peak_rss_mb,
                "MiB",
                detail={"events": merged.count},
            )
        )


def _limits(run: Run) -> list[processes.Consumed]:
    """The bare faust agent and raw aiokafka over the merge worker's topics, measured once."""
    found = []
    for kind, label in (("faust", "bare faust agent"), ("aiokafka", "raw aiokafka consumer")):
        env = run.env(run.sqlite_url, f"limit-{kind}")
        with run.timed(f"{label}: start to all consumed"):
            span, peak = processes.consume(
                kind,
                env,
                run.merge_topics,
                len(run.payloads),
                tmp=run.tmp,
                timeout_s=run.timeout(1000.0),
            )
        found.append(processes.Consumed(label, span, peak))
    return found
