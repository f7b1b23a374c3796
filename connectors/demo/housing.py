"""Communities, buildings and dwellings as the housing registry knows them.

An old community mixes six-storey walk-ups of the 1980s and 90s, a few tube-shaped
dormitory blocks (筒子楼: one room per home, shared bathrooms on the corridor) and newer
towers with lifts. The tube blocks are where home quarantine cannot be served safely.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from connectors.demo import vocab
from connectors.demo.model import Address, Community, Dwelling

DWELLINGS_PER_GRID = 150


@dataclass(frozen=True, slots=True)
class _BuildingKind:
    name: str
    weight: int
    floors: tuple[int, int]
    units: tuple[int, int]
    per_floor: tuple[int, int]
    rooms: tuple[int, int]
    lift: bool
    bathroom_share: float  # share of homes with their own bathroom
    built: tuple[int, int]
    area_per_room: float


BUILDINGS = (
    _BuildingKind("walk-up", 62, (5, 7), (2, 4), (2, 2), (1, 3), False, 0.97, (1980, 1999), 24.0),
    _BuildingKind("tube", 12, (4, 5), (1, 1), (6, 8), (1, 1), False, 0.15, (1958, 1979), 16.0),
    _BuildingKind("tower", 26, (11, 18), (2, 2), (2, 4), (2, 4), True, 1.0, (2000, 2015), 30.0),
)


def build_communities(count: int, rng: random.Random) -> list[Community]:
    """``count`` communities, filling one district's sub-districts before the next district."""
    start = rng.randrange(len(vocab.PLACES))
    places = vocab.PLACES[start:] + vocab.PLACES[:start]
    slots = [
        (place, number % len(place.streets), name)
        for place in places
        for number, name in enumerate(place.communities)
    ]
    communities: list[Community] = []
    used: dict[str, int] = {}
    for index in range(count):
        place, street_no, name = slots[index % len(slots)]
        lap = index // len(slots)
        if lap:
            name = f"{name.removesuffix('社区')}{lap + 1}区社区"
        street = place.streets[street_no]
        prefix = f"{place.region_code}{street_no + 1:03d}"
        used[prefix] = used.get(prefix, 0) + 1
        code = f"{prefix}{used[prefix]:03d}"
        stores = tuple(f"MD{code}-{n + 1:02d}" for n in range(rng.randint(2, len(vocab.STORES))))
        communities.append(
            Community(code, name, place.province, place.city, place.district, street, (), stores)
        )
    return communities


def build_dwellings(community: Community, count: int, rng: random.Random) -> list[Dwelling]:
    """``count`` dwellings in buildings numbered 1, 2, ...; the last building may be partial."""
    dwellings: list[Dwelling] = []
    number = 0
    grids = max(1, -(-count // DWELLINGS_PER_GRID))
    while len(dwellings) < count:
        number += 1
        kind = rng.choices(BUILDINGS, [b.weight for b in BUILDINGS])[0]
        grid = f"{community.code}-G{1 + (len(dwellings) * grids) // count:02d}"
        dwellings.extend(_building(community, number, kind, grid, rng))
    return dwellings[:count]


def grid_ids(dwellings: list[Dwelling] | tuple[Dwelling, ...]) -> tuple[str, ...]:
    """The grids the dwellings fall in, in first-seen order."""
    return tuple(dict.fromkeys(d.grid_id for d in dwellings))


def _building(
    community: Community, number: int, kind: _BuildingKind, grid: str, rng: random.Random
) -> list[Dwelling]:
    floors = rng.randint(*kind.floors)
    units = rng.randint(*kind.units)
    per_floor = rng.randint(*kind.per_floor)
    built = rng.randint(*kind.built)
    homes = []
    for unit in range(1, units + 1):
        for floor in range(1, floors + 1):
            for door in range(1, per_floor + 1):
                room = f"{floor}{door:02d}"
                rooms = rng.randint(*kind.rooms)
                address = Address(
                    community.province,
                    community.city,
                    community.district,
                    community.street,
                    community.name,
                    str(number),
                    str(unit),
                    room,
                )
                homes.append(
                    Dwelling(
                        dwelling_id=f"FW{community.code}-{number}-{unit}-{room}",
                        community_code=community.code,
                        grid_id=grid,
                        building=str(number),
                        unit=str(unit),
                        room_number=room,
                        floor=floor,
                        has_lift=kind.lift,
                        rooms=rooms,
                        has_separate_bathroom=rng.random() < kind.bathroom_share,
                        area_m2=round(rooms * kind.area_per_room + rng.uniform(8, 20), 1),
                        built_year=built,
                        address=address,
                    )
                )
    return homes
