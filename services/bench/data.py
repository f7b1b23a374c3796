"""Seeded household-registry exports for the bench: valid rows only, a realistic action mix.

Product code cannot import the test factories, so the bench carries its own small
generator. Every ID number is unique and carries a valid GB 11643 check digit, so no
row is rejected and every row becomes exactly one event.
"""

from __future__ import annotations

import csv
import functools
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from connectors.dates import CHINA
from connectors.identity import birth_of, check_digit, gender_of, mask_name
from connectors.mappings import household_register as ps

HEADER = list(ps.HEADER)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
STREETS = ("幸福里", "和平街", "建设路", "光明巷", "团结路", "长安街")
FIRST_BIRTH = date(1930, 1, 1)
START = datetime(2024, 1, 1, 8, 0, tzinfo=CHINA)  # written as local time, as exports are
# After the registration of any resident index below 30 million (one second each).
TOUCH_START = START + timedelta(days=366)

# The community codes of the generated residents (forty communities).
COMMUNITIES = tuple(f"C{n:03d}" for n in range(1, 41))

# Share of moves and deregistrations among the rows; the rest are new registrations.
MOVE_SHARE = 0.10
DEREGISTER_SHARE = 0.05


def resident_id(index: int) -> str:
    """A valid 18-digit ID number, unique per ``index`` (1000 sequence numbers per day)."""
    first17 = f"110105{_birth_digits(index // 1000)}{index % 1000:03d}"
    return first17 + check_digit(first17)


@functools.lru_cache(maxsize=4096)
def _birth_digits(days: int) -> str:
    # Formatting a date costs more than the rest of an ID number; a day holds 1000 of them.
    return f"{FIRST_BIRTH + timedelta(days=days):%Y%m%d}"


@dataclass(frozen=True)
class Export:
    """A generated export: the CSV bytes and how many rows of each action it holds."""

    csv: bytes
    rows: int
    registered: int
    moved: int
    deregistered: int


@dataclass(frozen=True)
class Placement:
    """What resident ``index``'s registration says without any randomness: three
    residents to a household and dwelling, forty communities."""

    serial: str
    household_no: str
    dwelling_id: str
    community_code: str
    building: str  # the address after the street


def placement(index: int) -> Placement:
    """Resident ``index``'s serial, household, dwelling, community and building."""
    return Placement(
        f"RB{index:08d}",
        f"H{index // 3:06d}",
        f"D-{index // 3:06d}",
        COMMUNITIES[index % len(COMMUNITIES)],
        f"{1 + index % 90}号楼{1 + index % 6}单元",
    )


def registration(index: int, rng: random.Random, when: datetime) -> list[str]:
    """One registration row of a new resident, in HEADER order."""
    id_number = resident_id(index)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    where = placement(index)
    return [
        where.serial,
        "登记",
        id_number,
        name,
        "男" if int(id_number[16]) % 2 else "女",
        f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
        f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
        where.household_no,
        where.dwelling_id,
        where.community_code,
        f"北京市朝阳区{rng.choice(STREETS)}{where.building}",
        f"{when:%Y-%m-%d %H:%M:%S}",
    ]


def registered_values(index: int, id_number: str) -> dict[str, str]:
    """What the connector's mapping makes of the registration of resident ``index`` (ID
    number ``id_number``, from ``resident_id``), as the resident_profile fields it feeds:
    masked, without the randomness (or the cost) of ``registration``; for filling a view
    store quickly."""
    where = placement(index)
    name = SURNAMES[index % len(SURNAMES)] + GIVEN[index % len(GIVEN)]
    return {
        "community_code": where.community_code,
        "dwelling_id": where.dwelling_id,
        "address": f"北京市朝阳区{STREETS[index % len(STREETS)]}{where.building}",
        "household_no": where.household_no,
        "name_masked": mask_name(name, ps.NAME),
        "gender": gender_of(id_number),
        "birth_date": birth_of(id_number, ps.ID_NUMBER).isoformat(),
        "phone_masked": f"13{index % 10}****{index % 10_000:04d}",
    }


def _change(index: int, target: int, rng: random.Random, when: datetime, moving: bool) -> list[str]:
    """A move (迁移) or a deregistration (迁出) of the resident registered as ``target``."""
    cells = [""] * len(HEADER)
    cells[0], cells[2] = f"RB{index:08d}", resident_id(target)
    cells[1] = "迁移" if moving else "迁出"
    cells[11] = f"{when:%Y-%m-%d %H:%M:%S}"
    if moving:
        cells[8] = f"D-M{index:06d}"
        cells[9] = COMMUNITIES[rng.randrange(len(COMMUNITIES))]
        cells[10] = f"北京市朝阳区{rng.choice(STREETS)}{1 + rng.randrange(90)}号楼"
    return cells


def registry_export(count: int, seed: int = 7, first: int = 1) -> Export:
    """``count`` rows: registrations, then moves and deregistrations of earlier residents.

    Rows are one second apart, so a change always happens after the registration it
    refers to, and the merge applies every one of them.
    """
    rng = random.Random(seed)
    change_share = MOVE_SHARE + DEREGISTER_SHARE
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    registered: list[int] = []
    counts = {"登记": 0, "迁移": 0, "迁出": 0}
    for index in range(first, first + count):
        when = START + timedelta(seconds=index)
        if registered and rng.random() < change_share:
            # Each resident changes at most once, so a move never follows a deregistration.
            target = registered.pop(rng.randrange(len(registered)))
            moving = rng.random() < MOVE_SHARE / change_share
            cells = _change(index, target, rng, when, moving)
        else:
            cells = registration(index, rng, when)
            registered.append(index)
        counts[cells[1]] += 1
        writer.writerow(cells)
    return Export(
        out.getvalue().encode("utf-8"), count, counts["登记"], counts["迁移"], counts["迁出"]
    )


def touching_export(moved: Sequence[int], new_first: int, seed: int = 7) -> Export:
    """Moves of the residents ``moved`` and as many registrations of new residents from
    ``new_first`` on, shuffled: a batch that touches existing rows and adds new ones.

    Its rows come after every row of ``registry_export`` and ``registered_values`` up to
    resident ``new_first`` (one second apart from TOUCH_START), so each one applies.
    """
    rng = random.Random(seed)
    who = [(True, target) for target in moved]
    who += [(False, new_first + i) for i in range(len(moved))]
    rng.shuffle(who)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for n, (moving, resident) in enumerate(who):
        when = TOUCH_START + timedelta(seconds=n)
        if moving:
            writer.writerow(_change(new_first + len(who) + n, resident, rng, when, True))
        else:
            writer.writerow(registration(resident, rng, when))
    return Export(out.getvalue().encode("utf-8"), len(who), len(moved), len(moved), 0)
