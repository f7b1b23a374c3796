"""What one row's state means for other rows: pure functions over merge state.

A resident contributes entries to the household of its dwelling (its membership, and the
quarantine orders served there); residents, households and alerts each count towards
their community. The worker applies the difference between a row's contributions before
and after a batch, in the batch's transaction, so derived state equals a function of the
rows' final state however the events were ordered or repeated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.merge.epidemic import negative_figure
from services.merge.merge import RowState
from services.merge.rules import FRESH, HOSTED, MEMBER, QUARANTINE, WATER

Contributions = dict[str, dict[str, Any]]  # dwelling_id -> {entry name: value}
Counts = Mapping[str, Mapping[str, int]]  # community_code -> figure -> count


def family(row: RowState, name: str) -> dict[str, Any]:
    """The live entries of a ``name/<id>`` family, by id (cleared entries left out)."""
    return row.families.get(name, {})


def provenance_of(row: RowState, name: str) -> list[Any] | None:
    """A field's provenance as stored: [department, event_id, event_time_ms]."""
    p = row.provenance.get(name)
    return None if p is None else [p.department, p.event_id, p.event_time_ms]


def resident_visible(row: RowState) -> bool:
    """A resident is shown once registered and until deregistered."""
    return bool(row.values.get("registered"))


def household_contributions(row: RowState) -> Contributions:
    """The entries a resident puts into households: membership, and quarantines served there."""
    if not resident_visible(row):
        return {}
    values = row.values
    home = values.get("dwelling_id")
    out: Contributions = {}
    if home:
        out.setdefault(home, {})[f"{MEMBER}/{row.key}"] = {
            "community_code": values.get("community_code"),
            "elderly_living_alone": values.get("elderly_living_alone"),
            "health_status": values.get("health_status"),
            "health_source": provenance_of(row, "health_status"),
        }
    for quarantine_id, order in family(row, QUARANTINE).items():
        # Only a HOME order is served in a dwelling (its own, or else the resident's home); a
        # CENTRALIZED one is served at a facility, whatever dwelling it names.
        served = (order["dwelling_id"] or home) if order["kind"] == "HOME" else None
        if served:
            out.setdefault(served, {})[f"{HOSTED}/{quarantine_id}"] = {
                "person_key": row.key,
                "kind": order["kind"],
                "starts_at": order["starts_at"],
                "planned_end_at": order["planned_end_at"],
                "source": provenance_of(row, f"{QUARANTINE}/{quarantine_id}"),
            }
    return out


def resident_counts(row: RowState) -> Counts:
    """What a resident counts for in its community's situation."""
    values = row.values
    community = values.get("community_code")
    if not values.get("registered") or not community:
        return {}
    counts = {"residents": 1}
    if values.get("elderly_living_alone"):
        counts["elderly_living_alone"] = 1
    if values.get("disability_grade") not in (None, "NONE"):
        counts["disabled_residents"] = 1
    if values.get("health_status"):
        counts[f"health/{values['health_status']}"] = 1
    if values.get("elderly_living_alone") and not values.get("vaccination_doses"):
        counts["elderly_alone_unvaccinated"] = 1
    negative = negative_figure(values)  # rendered against an epidemic's window (epidemic.py)
    if negative is not None:
        counts[negative] = 1
    return {community: counts}


def household_counts(record: Mapping[str, Any] | None) -> Counts:
    """What a household's rendered record counts for in its community's situation."""
    if record is None or not record.get("community_code"):
        return {}
    counts = {"pending_deliveries": record["open_delivery_count"]}
    if record["resident_count"] > 0:
        counts["households"] = 1
    if record["quarantined"]:
        counts["quarantined_households"] = 1
    return {record["community_code"]: counts}


def alert_counts(alerts: Mapping[str, Mapping[str, Any]]) -> Counts:
    """Open alerts by community and type."""
    out: dict[str, dict[str, int]] = {}
    for alert in alerts.values():
        if alert.get("community_code"):
            figures = out.setdefault(alert["community_code"], {})
            figure = f"alerts/{alert['alert_type']}"
            figures[figure] = figures.get(figure, 0) + 1
    return out


def freshness(row: RowState) -> dict[str, int]:
    """The newest event time seen from each department about this row's subject."""
    return {name: int(value) for name, value in family(row, FRESH).items()}


Water = tuple[float | None, int | None, int | None, list[Any] | None, list[Any] | None]


def water(row: RowState) -> Water:
    """A dwelling's water: (latest register value, latest reading time, last water use, the
    provenance of the latest reading, the provenance of the meter that shows the last use).

    With several water meters, the dwelling's water was last used when any of them last
    went up; the value shown is that of the meter read most recently.
    """
    meters = family(row, WATER)
    if not meters:
        return None, None, None, None, None
    latest_id = max(meters, key=lambda m: (meters[m][2], m))
    used_id = max(meters, key=lambda m: (meters[m][1], m))
    value, _, read_at = meters[latest_id]
    return (
        value,
        read_at,
        meters[used_id][1],
        provenance_of(row, f"{WATER}/{latest_id}"),
        provenance_of(row, f"{WATER}/{used_id}"),
    )
