"""Differences between two sets of views, field by field, in words a failing test can show."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

Row = tuple[dict[str, Any], dict[str, Any]]  # data, provenance
Rows = Mapping[str, Row]


def _row_differences(where: str, expected: Row, actual: Row, ignore: Collection[str]) -> list[str]:
    found = []
    for part, want, got in zip(("data", "provenance"), expected, actual, strict=True):
        for name in sorted(want.keys() | got.keys()):
            if name not in ignore and want.get(name) != got.get(name):
                found.append(
                    f"{where} {part}.{name}: oracle {want.get(name)!r}, merge {got.get(name)!r}"
                )
    return found


def differences(
    expected: Mapping[str, Rows], actual: Mapping[str, Rows], ignore: Collection[str] = ()
) -> list[str]:
    """Every row shown by one side only, and every field (or provenance entry) that differs.

    ``ignore`` names fields left out of the comparison, e.g. ``department_freshness``.
    """
    found = []
    for view in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(view, {}), actual.get(view, {})
        found += [f"{view} {key}: shown by the oracle only" for key in sorted(want.keys() - got)]
        found += [f"{view} {key}: shown by the merge only" for key in sorted(got.keys() - want)]
        for key in sorted(want.keys() & got.keys()):
            found += _row_differences(f"{view} {key}", want[key], got[key], ignore)
    return found


def account(found: list[str], limit: int = 8) -> str:
    """The first few differences and how many there are, for a failure message."""
    shown = "\n".join(f"  {line}" for line in found[:limit])
    more = f"\n  ... and {len(found) - limit} more" if len(found) > limit else ""
    return f"{len(found)} differences from the oracle:\n{shown}{more}"
