"""Peak memory of the connector: ``datong connector run`` beside a raw producer process.

Both run as processes of their own on the export the throughput steps published, after
the merge steps (they publish it once more, and nobody consumes it then), and each
reports its own peak as it exits (``peak.py``). The raw
producer streams the connector's encoded payloads from a file and keeps none of them,
as the connector streams its CSV: the ratio is what mapping, pseudonymizing, encoding,
checkpoints, its state store and the registry client cost in memory. The connector
looks its schema ids up in a hub API started for it. The merge workers' and the API's peaks
are read where they run (``throughput.py``, ``queries.py``).
"""

from __future__ import annotations

from services.bench import processes, producers
from services.bench.context import Run
from services.bench.report import Figure
from services.broker import free_port

DEPARTMENT = "public-security"


def connector_memory(run: Run) -> None:
    """Run the real connector CLI on the export, then the raw producer on its payloads."""
    csv_path = run.tmp / "registry.csv"
    tmp = run.tmp / "connector-memory"
    tmp.mkdir()
    env = run.env(f"sqlite:///{tmp / 'views.db'}", "connector-memory")
    env["DATONG_CONNECTOR_METRICS_PORT"] = str(free_port())
    # The connector looks its schema ids up in a hub API's registry, as it does in production.
    api = processes.Api(env, tmp / "api.log")
    try:
        api.wait_ready(run.timeout())
        env["DATONG_REGISTRY_URL"] = f"{api.url}/registry"
        args = ["services.cli", "connector", "run", DEPARTMENT, "--source", str(csv_path)]
        with run.timed("connector process: whole run"):
            ours = processes.run_to_end(args, env, tmp / "connector.log", run.timeout())
    finally:
        api.stop()
    payload_file = tmp / "payloads.bin"
    producers.write_payloads(payload_file, run.payloads)
    args = ["services.bench.producers", "--bootstrap", run.bootstrap, "--payloads"]
    with run.timed("raw producer process: whole run"):
        limit = processes.run_to_end(
            [*args, str(payload_file)], env, tmp / "raw.log", run.timeout()
        )
    run.report.figures.append(
        Figure(
            "peak memory: connector (datong connector run)",
            ours,
            "raw kafka-python producer process",
            limit,
            "MiB",
            detail={"records": len(run.payloads)},
        )
    )
