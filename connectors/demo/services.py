"""Meter readings of the water and power companies, and deliveries of the community shops.

Water meters report every six hours, power meters once a day, over the three days before
``as_of``. Some meters drop readings for a while (a gap), and some elderly residents
living alone use no water for more than a day: the readings go on, flat, which is
exactly what the welfare-check rule looks for.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta

from connectors.dates import CHINA
from connectors.demo import vocab
from connectors.demo.model import (
    Community,
    Delivery,
    Dwelling,
    Household,
    MeterReading,
    Quarantine,
    Resident,
    StockReport,
)

WINDOW_DAYS = 3
WATER_EVERY_H = 6
GAP_SHARE = 0.05
SILENT_SHARE = 0.15  # elderly-alone homes whose water use stopped more than a day ago
# Cubic metres per person in each six-hour slot, from midnight: night, morning, afternoon, evening.
WATER_PER_SLOT_M3 = (0.01, 0.06, 0.04, 0.07)


def build_readings(
    dwellings: Sequence[Dwelling],
    occupants: dict[str, int],
    silent: dict[str, datetime],
    as_of: datetime,
    rng: random.Random,
) -> list[MeterReading]:
    """Water and electricity readings of every dwelling, ordered by time."""
    start = datetime.combine(as_of.date() - timedelta(days=WINDOW_DAYS), time(0), tzinfo=CHINA)
    water_times = _times(start, as_of, WATER_EVERY_H)
    power_times = _times(start, as_of, 24)
    gapped = set(rng.sample(range(len(dwellings)), max(1, round(GAP_SHARE * len(dwellings)))))
    readings: list[MeterReading] = []
    for number, home in enumerate(dwellings, start=1):
        people = occupants.get(home.dwelling_id, 0)
        quiet_from = silent.get(home.dwelling_id)
        value = round(rng.uniform(50, 2000), 3)
        keep = _gap_mask(len(water_times), number - 1 in gapped, rng)
        water_meter = f"W-{number // 10000:04d}-{number % 10000:04d}"
        power_meter = f"1100{number:012d}"  # a 16-digit asset number, as State Grid prints
        for at, kept in zip(water_times, keep, strict=True):
            if quiet_from is None or at < quiet_from:
                slot = WATER_PER_SLOT_M3[at.hour // WATER_EVERY_H]
                value = round(value + people * slot * rng.uniform(0.5, 1.5), 3)
            if kept:
                readings.append(MeterReading(water_meter, home.dwelling_id, "WATER", value, at))
        power = round(rng.uniform(1000, 30000), 1)
        for at in power_times:
            power = round(power + (0.3 + people * rng.uniform(2.5, 5.0)), 1)
            readings.append(MeterReading(power_meter, home.dwelling_id, "ELECTRICITY", power, at))
    readings.sort(key=lambda r: (r.read_at, r.meter_id))
    return readings


def pick_silent(homes: Sequence[str], as_of: datetime, rng: random.Random) -> dict[str, datetime]:
    """Elderly-alone homes with no water use since 26-50 hours before ``as_of`` (at least one)."""
    if not homes:
        return {}
    count = max(1, round(SILENT_SHARE * len(homes)))
    return {
        home: as_of - timedelta(hours=rng.randint(26, 50))
        for home in rng.sample(list(homes), count)
    }


def build_deliveries(
    households: Sequence[Household],
    residents: dict[str, Resident],
    *,
    communities: dict[str, Community],
    quarantines: Sequence[Quarantine],
    elderly_alone_homes: set[str],
    as_of: datetime,
    rng: random.Random,
) -> list[Delivery]:
    """Supplies for quarantined homes every other day, and everyday orders; some never arrive."""
    open_homes = {
        q.dwelling_id: q.starts_at
        for q in quarantines
        if q.kind == "HOME" and q.lifted_at is None and q.dwelling_id
    }
    deliveries: list[Delivery] = []
    for household in households:
        home = household.dwelling_id
        if home in open_homes:
            moments = _every_other_day(open_homes[home], as_of, rng)
        elif (home in elderly_alone_homes and rng.random() < 0.4) or rng.random() < 0.08:
            moments = [as_of - timedelta(hours=rng.randint(2, 70))]
        else:
            continue
        people = [residents[m] for m in household.members]
        recipient = next((p for p in people if p.phone), people[0])
        stores = communities[household.community_code].store_codes
        for requested in moments:
            order = _delivery(household, recipient, rng.choice(stores), requested, rng)
            deliveries.append(replace(order, for_quarantine=home in open_homes))
    return _settle(deliveries, as_of, rng)


def _delivery(
    household: Household,
    recipient: Resident,
    store: str,
    requested: datetime,
    rng: random.Random,
) -> Delivery:
    count = rng.randint(1, 3)
    return Delivery(
        delivery_id="",
        dwelling_id=household.dwelling_id,
        store_code=store,
        items="、".join(rng.sample(vocab.DELIVERY_ITEMS, count)),
        for_quarantine=False,
        recipient_name=recipient.name,
        recipient_phone=recipient.phone,
        amount_fen=rng.randint(30, 300) * 100 + rng.choice((0, 50)),
        requested_at=requested,
        due_at=requested + timedelta(hours=4),
        fulfilled_at=None,
        outcome=None,
    )


def _settle(deliveries: list[Delivery], as_of: datetime, rng: random.Random) -> list[Delivery]:
    """Number the orders by time and close those that arrived before ``as_of``.

    The latest quarantine order is left overdue on purpose: the quarantine-delivery rule
    must have something to find.
    """
    deliveries.sort(key=lambda d: (d.requested_at, d.dwelling_id))
    overdue = max(
        (i for i, d in enumerate(deliveries) if d.for_quarantine and d.due_at < as_of),
        default=None,
    )
    settled = []
    for index, order in enumerate(deliveries):
        arrived = order.requested_at + timedelta(minutes=rng.randint(40, 300))
        done = arrived < as_of and index != overdue and rng.random() < 0.88
        outcome = rng.choices(("DELIVERED", "LEFT_AT_DOOR", "CANCELLED"), (70, 27, 3))[0]
        if order.for_quarantine and outcome == "DELIVERED":
            outcome = "LEFT_AT_DOOR"  # contact-free delivery to an isolated household
        settled.append(
            replace(
                order,
                delivery_id=f"PS{order.requested_at:%Y%m%d}{index + 1:06d}",
                fulfilled_at=arrived if done else None,
                outcome=outcome if done else None,
            )
        )
    return settled


def build_stock(
    communities: Sequence[Community], as_of: datetime, rng: random.Random
) -> list[StockReport]:
    """Each shop's evening stock count of the supplies it carries, for three days."""
    reports = []
    for community in communities:
        for store in community.store_codes:
            carried = rng.sample(vocab.SUPPLIES, rng.randint(4, 6))
            for day in range(WINDOW_DAYS, 0, -1):
                at = datetime.combine(as_of.date() - timedelta(days=day), time(20), tzinfo=CHINA)
                for item, unit in carried:
                    quantity = (
                        float(rng.randint(0, 400)) if unit != "升" else rng.randint(0, 80) * 5.0
                    )
                    reports.append(StockReport(community.code, store, item, quantity, unit, at))
    reports.sort(key=lambda r: (r.at, r.store_code, r.item))
    return reports


def _times(start: datetime, end: datetime, every_h: int) -> list[datetime]:
    times = []
    at = start
    while at <= end:
        times.append(at)
        at += timedelta(hours=every_h)
    return times


def _gap_mask(count: int, gapped: bool, rng: random.Random) -> list[bool]:
    """Which readings arrive: a gapped meter loses a run of two to four, never the last one."""
    keep = [True] * count
    if gapped and count > 6:
        start = rng.randint(1, count - 6)
        for i in range(start, start + rng.randint(2, 4)):
            keep[i] = False
    return keep


def _every_other_day(since: datetime, as_of: datetime, rng: random.Random) -> list[datetime]:
    moments = []
    at = since + timedelta(hours=rng.randint(3, 10))
    while at < as_of - timedelta(hours=1):
        moments.append(at)
        at += timedelta(days=2, hours=rng.randint(-3, 3))
    return moments
