"""What happened in the demo community: each department's records over its people and homes."""

from __future__ import annotations

import random
from datetime import datetime

from connectors.demo.health import (
    build_care,
    build_health_records,
    build_quarantines,
    build_vaccinations,
)
from connectors.demo.model import (
    ELDERLY_AGE,
    Community,
    Dwelling,
    Household,
    Population,
    Resident,
    age_of,
)
from connectors.demo.services import build_deliveries, build_readings, build_stock, pick_silent
from connectors.demo.works import build_grid, build_renovations


def rng_for(seed: int, part: str) -> random.Random:
    """An independent generator per part, so adding to one part leaves the others unchanged.

    String seeds are hashed with SHA-512 by ``random``, independent of PYTHONHASHSEED.
    """
    return random.Random(f"datong-demo:{seed}:{part}")


def build_activity(
    *,
    seed: int,
    as_of: datetime,
    communities: tuple[Community, ...],
    dwellings: tuple[Dwelling, ...],
    households: tuple[Household, ...],
    residents: tuple[Resident, ...],
) -> Population:
    """Add every department's records to the people and homes; each part has its own stream."""

    def rng(part: str) -> random.Random:
        return rng_for(seed, part)

    homes = {d.dwelling_id: d for d in dwellings}
    elderly_alone = [
        r for r in residents if r.living_alone and age_of(r.birth_date, as_of) >= ELDERLY_AGE
    ]
    quarantines = build_quarantines(households, homes, as_of, rng("quarantine"))
    statuses, tests = build_health_records(quarantines, as_of, rng("health"))
    assessments, visits = build_care(residents, as_of, rng("care"))
    silent = pick_silent([r.dwelling_id for r in elderly_alone], as_of, rng("silence"))
    occupants = {h.dwelling_id: len(h.members) for h in households}
    grid_reports, grid_tasks = build_grid(communities, dwellings, elderly_alone, as_of, rng("grid"))
    return Population(
        seed=seed,
        as_of=as_of,
        communities=communities,
        dwellings=dwellings,
        households=households,
        residents=residents,
        quarantines=tuple(quarantines),
        health_statuses=tuple(statuses),
        tests=tuple(tests),
        vaccinations=tuple(build_vaccinations(residents, as_of, rng("vaccination"))),
        assessments=tuple(assessments),
        visits=tuple(visits),
        readings=tuple(build_readings(dwellings, occupants, silent, as_of, rng("meters"))),
        deliveries=tuple(
            build_deliveries(
                households,
                {r.id_number: r for r in residents},
                communities={c.code: c for c in communities},
                quarantines=quarantines,
                elderly_alone_homes={r.dwelling_id for r in elderly_alone},
                as_of=as_of,
                rng=rng("deliveries"),
            )
        ),
        stock=tuple(build_stock(communities, as_of, rng("stock"))),
        renovations=tuple(build_renovations(communities, dwellings, as_of, rng("renovation"))),
        grid_reports=tuple(grid_reports),
        grid_tasks=tuple(grid_tasks),
    )
