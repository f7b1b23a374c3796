"""Small factories for test data: resident ID numbers, registry exports, health events."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from connectors.identity import check_digit
from connectors.mappings import household_register as ps

REGISTRY_HEADER = list(ps.HEADER)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英"


def resident_id(seq: int, born: date = date(1950, 1, 1), region: str = "110105") -> str:
    """A valid 18-digit resident ID number; ``seq`` (0-999) picks the sequence digits."""
    first17 = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return first17 + check_digit(first17)


def wrong_check_digit(id_number: str) -> str:
    """The same ID number with a check character that does not match."""
    wrong = "0" if id_number[17] != "0" else "1"
    return id_number[:17] + wrong


@dataclass
class RegistryRow:
    """One row of a household-registry export."""

    serial: str
    id_number: str
    action: str = "登记"
    name: str = "张三"
    gender: str | None = None
    birth_date: str | None = None
    phone: str = "13812345678"
    household_no: str = "H0001"
    dwelling_id: str = "D-0001"
    community: str = "C001"
    address: str = "北京市朝阳区幸福里1号楼1单元101"
    effective: str = "2024-03-05 10:00:00"
    extra: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        """The row's cells in REGISTRY_HEADER order."""
        born = (
            self.birth_date
            or f"{self.id_number[6:10]}-{self.id_number[10:12]}-{self.id_number[12:14]}"
        )
        gender = self.gender or ("男" if int(self.id_number[16]) % 2 else "女")
        return [
            self.serial,
            self.action,
            self.id_number,
            self.name,
            gender,
            born,
            self.phone,
            self.household_no,
            self.dwelling_id,
            self.community,
            self.address,
            self.effective,
            *self.extra,
        ]


def registry_rows(count: int, seed: int = 7, start: int = 1) -> list[RegistryRow]:
    """``count`` valid registration rows with varied names, births and dwellings."""
    rng = random.Random(seed)
    rows = []
    for i in range(start, start + count):
        born = date(rng.randint(1930, 2010), rng.randint(1, 12), rng.randint(1, 28))
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        rows.append(
            RegistryRow(
                serial=f"RB{i:07d}",
                id_number=resident_id(i, born),
                name=name,
                phone=f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}",
                household_no=f"H{i // 3:05d}",
                dwelling_id=f"D-{i // 3:05d}",
                community=f"C{1 + i % 3:03d}",
                effective=f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                f"09:{i % 60:02d}:00",
            )
        )
    return rows


def registry_csv(rows: list[RegistryRow], encoding: str = "utf-8") -> bytes:
    """A registry export as bytes, in ``encoding`` (``utf-8-sig`` writes a BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REGISTRY_HEADER)
    for row in rows:
        writer.writerow(row.cells())
    return buffer.getvalue().encode(encoding)


def write_registry_csv(path: Path, rows: list[RegistryRow], encoding: str = "utf-8") -> Path:
    """Write a registry export file and return its path."""
    path.write_bytes(registry_csv(rows, encoding))
    return path


def health_event(
    person_key: str,
    status: str,
    at: datetime,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A HealthStatusChanged record as the health platform publishes it."""
    return {
        "event_id": event_id or f"health:{person_key[:12]}:{at.isoformat()}:{status}",
        "event_time": at.astimezone(UTC),
        "department": "health",
        "person_key": person_key,
        "status": status,
        "reason": None,
    }
