"""View query latency with concurrent readers against the real API process.

The bench fills a fresh PostgreSQL store with resident_profile rows (``prefill``),
starts ``datong api`` on it, and runs the same closed-loop readers three ways:

* ``GET /views/resident_profile/{key}`` on random keys of the loaded rows: the figure;
* ``GET /healthz`` on the same server: the limit that isolates datong's own cost. It
  pays everything a view read pays except datong's part (the HTTP client and server,
  routing, the request-counting middleware, the event loop shared by 50 readers), so
  the ratio is what reading, checking and rendering a view row adds;
* the same primary-key lookup straight from the store, by the same closed-loop readers
  in one event loop over as many connections (``http_load.sql_latencies``): what the
  database alone costs, for comparison.

The API's peak memory is read at the end, beside its resident memory at rest (started,
nothing asked yet): there is no raw counterpart of an API process to compare it with.
"""

from __future__ import annotations

import secrets

from services.bench import connector, http_load, prefill, processes
from services.bench.context import VIEW, Run
from services.bench.report import Detail, Figure
from services.bench.stats import Latencies, order_statistics

# Rows built in Python; the rest of the store are the server's copies (see prefill).
BUILT_ROWS = 10_000


def view_query_latency(run: Run) -> None:
    """Fill a store, serve it with ``datong api`` and time the readers; add the figures."""
    tmp = run.tmp / "queries"
    tmp.mkdir()
    sizes = run.sizes
    warm_up = min(1.0, sizes.query_seconds / 4)
    with processes.fresh_postgres(run.postgres_url) as url:
        processes.prepare_store(url, run.catalog)
        with run.timed("queries: fill the store"):
            built = min(BUILT_ROWS, sizes.query_rows)
            rows = (
                prefill.profile_row(*resident)
                for resident in connector.residents(secrets.token_bytes(32), range(1, built + 1))
            )
            prefill.fill(url, rows, sizes.query_rows)
        keys = http_load.stored_keys(url, VIEW)
        token = http_load.reader_token(url)
        api = processes.Api(run.env(url, "api"), tmp / "api.log")
        try:
            api.wait_ready(60.0)
            at_rest = api.rss_mb()

            def timed(label: str, path: http_load.NextPath) -> Latencies:
                with run.timed(f"queries: {label}"):
                    samples = http_load.http_latencies(
                        api.url,
                        path,
                        readers=sizes.readers,
                        seconds=sizes.query_seconds,
                        warm_up_s=warm_up,
                        token=token,
                    )
                return _stats(samples, sizes.query_seconds)

            ours = timed("views", lambda rng: f"/views/{VIEW}/{rng.choice(keys)}")
            healthz = timed("healthz", lambda _: "/healthz")
            peak = api.peak_rss_mb()
        finally:
            api.stop()
        with run.timed("queries: raw SQL"):
            raw = _stats(
                http_load.sql_latencies(
                    url,
                    VIEW,
                    keys,
                    readers=sizes.readers,
                    seconds=sizes.query_seconds,
                    warm_up_s=warm_up,
                ),
                sizes.query_seconds,
            )
    detail: Detail = {
        "rows": len(keys),
        "store": "PostgreSQL",
        "view requests/s": round(ours.achieved_rate, 1),
        "healthz requests/s": round(healthz.achieved_rate, 1),
        "raw SQL lookups/s": round(raw.achieved_rate, 1),
    }
    name = f"view query latency, {sizes.readers} readers"
    for stat in ("p50", "p99"):
        for label, limit in (
            ("GET /healthz, same server and readers", healthz),
            ("raw SQL primary-key lookup, same readers", raw),
        ):
            run.report.figures.append(
                Figure(
                    f"{name} {stat}",
                    getattr(ours, stat) * 1000,
                    label,
                    getattr(limit, stat) * 1000,
                    "ms",
                    detail=detail,
                )
            )
    run.report.figures.append(
        Figure(
            "peak memory: API (datong api)",
            peak,
            "the same API process at rest",
            at_rest,
            "MiB",
            detail={"readers": sizes.readers, "rows": len(keys)},
        )
    )


def _stats(samples: list[float], seconds: float) -> Latencies:
    """Order statistics of closed-loop samples; the rates are requests per second."""
    rate = len(samples) / seconds
    return order_statistics(samples, offered=rate, achieved=rate)
