"""A synthetic but realistic demo community, written as each department really exports it.

``generate(out, communities, residents, seed, as_of)`` writes
``out/<department>/<export files>`` (each folder can be fed to ``datong connector run
<department> --source out/<department>``) and ``out/manifest.json`` with the counts of every
file, and returns the manifest. ``as_of`` is the moment the exports were taken: every event
happened before it, the most recent ones in the days before it (``datong up --demo`` passes
the current time, so the community's last week is the real last week). The same arguments
always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from connectors.dates import CHINA
from connectors.demo import tables_care, tables_people, tables_places, tables_services
from connectors.demo.activity import rng_for
from connectors.demo.dirt import soil
from connectors.demo.exports import write_table
from connectors.demo.manifest import FileCounts, Manifest, headline
from connectors.demo.model import Population
from connectors.demo.population import AS_OF, build_population
from connectors.demo.table import Table

__all__ = ["AS_OF", "DEPARTMENTS", "FileCounts", "Manifest", "build_population", "generate"]

# Housing first: its export builds the gazetteer every other department's addresses need.
DEPARTMENTS: dict[str, Callable[[Population], list[Table]]] = {
    "housing": tables_places.housing,
    "public-security": tables_people.registry,
    "health": tables_people.health,
    "civil-affairs": tables_care.civil_affairs,
    "grid": tables_places.grid,
    "commerce": tables_services.commerce,
    "utilities": tables_services.utilities,
}
MANIFEST = "manifest.json"


def tables(population: Population) -> list[Table]:
    """Every department's export tables, soiled with their dirty rows, in feeding order."""
    result = []
    for build in DEPARTMENTS.values():
        for table in build(population):
            soil(table, rng_for(population.seed, f"dirt:{table.department}/{table.file_name}"))
            result.append(table)
    return result


def generate(
    out: Path, communities: int, residents: int, seed: int, as_of: datetime = AS_OF
) -> Manifest:
    """Write the demo community's exports under ``out`` and return their manifest.

    Files of one department get increasing modification times in feeding order, so a drop
    folder takes them oldest first. Existing files of the same names are replaced.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry its time zone")
    # Whole seconds: the exports write times to the second, and the manifest keeps as_of.
    # China time: the community's days (readings from midnight, office hours) are local.
    as_of = as_of.astimezone(CHINA).replace(microsecond=0)
    population = build_population(communities, residents, seed, as_of)
    base = as_of.timestamp()
    counts = []
    for index, table in enumerate(tables(population)):
        path = write_table(table, out / table.department, as_of, base + index)
        counts.append(FileCounts.of(table, path.relative_to(out).as_posix()))
    manifest = Manifest(
        seed=seed,
        communities=communities,
        residents=residents,
        as_of=as_of.isoformat(),
        population=headline(population),
        files=tuple(counts),
    )
    (out / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return manifest
