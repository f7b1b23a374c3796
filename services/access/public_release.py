"""k-anonymous counts for the public release: suppression, complements, rounding. Pure.

A *group* is a table of counts that add up to a total: quarantined households by building
and in the whole community, pending deliveries likewise. ``protect`` decides what of a group
may be published; the public page, its JSON and its Atom feed show nothing else.

Threat model (the README states it too, under "Public release"):

- **Who.** Anyone: no token is needed. Typically a resident, a neighbour, a journalist or
  a scraper, who wants to learn how many households of a building are quarantined (or have
  a delivery pending) when that number is small, because a small number points at a
  household they can then name.
- **What they know.** Every release ever published (they archive each one), the rules
  (this module, ``k``, the rounding base), the list of buildings, and, as side knowledge,
  which buildings did not change between two releases (they live there, or watched).
- **What they combine.** Published cells and the published total of a group (a suppressed
  cell is the total minus the others), the rounding windows of each published figure,
  the bounds every suppressed cell is known to lie in (under k; or, for a complement, at
  least k), and the previous release's figures for the cells that did not change.
- **What the design guarantees.** No published figure is from 1 to k-1, and no suppressed
  cell's value can be pinned to one number: every suppressed cell keeps at least two
  values consistent with everything above (one release, or two successive releases with
  one known cell changed by an unknown amount). How: every figure is rounded down to a
  multiple of the base (3 or more, dividing k), so it stands for ``base`` values and is
  never below k; a cell under k is suppressed, and when it would be the only one under a
  published total the next smallest cell is suppressed too; then the group is attacked as
  above, each cell in the bounds earlier releases left it (while its count still lies
  there), and the total, then further cells, are suppressed while any cell, shown or not,
  is pinned (a shown cell known exactly would uncover a neighbour in the next release or
  the one before). Releases happen at fixed instants (``DATONG_PUBLIC_RELEASE_HOURS``) and
  never change once made, so they differ by many events, never one.
- **What it does not guarantee.** Someone who knows exactly how much a cell changed
  between two releases (one household moved out, nothing else happened) can pin it where
  that change crosses k (k-1 after, or k before), or when the change is nearly as large as
  k: no deterministic suppression hides a change the adversary already knows.
  Someone who knows most of a building's households can subtract them, as from any count.
  The design hides counts, not the existence of the buildings or of the projects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.errors import ConfigError


@dataclass(frozen=True)
class Rules:
    """The release's parameters: the smallest count shown (k) and the rounding base."""

    min_count: int
    base: int

    def __post_init__(self) -> None:
        # k = 2 would leave two suppressed cells under an unknown total pinned at 1.
        if self.min_count < 3:
            raise ConfigError("DATONG_PUBLIC_MIN_COUNT must be at least 3")
        # A base of 1 would publish exact counts: a cell shown once and withheld later
        # (unchanged, as a complement) would be known exactly; with 2, a cell crossing k
        # between releases can be placed at k-1 from the totals' change. A base dividing k
        # keeps every rounded figure at k or more.
        if self.base < 3 or self.min_count % self.base:
            raise ConfigError(
                "DATONG_PUBLIC_ROUND_BASE must be 3 or more and divide DATONG_PUBLIC_MIN_COUNT"
            )


Bounds = dict[str, tuple[int, int | None]]


@dataclass(frozen=True)
class Released:
    """What a group publishes: each cell's rounded count or None (not shown), the total.

    ``bounds``: for each cell, the counts an attacker could place it in after this release
    (and the ones before it, were it unchanged since); kept with the release to check the
    next one against, never published (it tells which withheld cells are under k).
    """

    cells: dict[str, int | None]
    total: int | None
    bounds: Bounds = field(default_factory=dict)


@dataclass(frozen=True)
class _Box:
    """The integers an attacker knows a value lies in; ``high`` None is unbounded."""

    low: int
    high: int | None

    def meet(self, other: _Box) -> _Box:
        highs = [h for h in (self.high, other.high) if h is not None]
        return _Box(max(self.low, other.low), min(highs) if highs else None)


@dataclass
class _Plan:
    """Which of a group's figures are withheld, while ``protect`` decides."""

    primary: set[str]
    complements: set[str] = field(default_factory=set)
    total_shown: bool = True

    def withheld(self) -> set[str]:
        return self.primary | self.complements


def rounded(count: int, base: int) -> int:
    """``count`` rounded down to a multiple of ``base``: it stands for ``base`` counts."""
    return count // base * base


def window(shown: int, rules: Rules) -> tuple[int, int]:
    """The counts a published figure stands for: from it to the next multiple of the base."""
    return shown, shown + rules.base - 1


def protect(cells: Mapping[str, int], rules: Rules, previous: Released | None = None) -> Released:
    """What of a group (cells summing to its total) may be published; see the module's
    threat model. ``previous``: the group as the last release published it."""
    if any(n < 0 for n in cells.values()):
        raise ValueError("counts are never negative")
    total = sum(cells.values())
    if total < rules.min_count:  # every cell is under k too
        under = (0, rules.min_count - 1)
        return Released(dict.fromkeys(cells), None, dict.fromkeys(cells, under))
    plan = _Plan({c for c, n in cells.items() if n < rules.min_count})
    if len(plan.primary) == 1:
        plan.complements.add(_smallest_shown(cells, plan))
    while True:
        bounds = _bounds(cells, rules, plan, previous)
        # A shown cell pinned inside its window is a stepping stone too: known exactly and
        # unchanged, it would uncover a withheld neighbour in an earlier or later release.
        if not any(low == high for low, high in bounds.values()):
            break
        if plan.total_shown:
            plan.total_shown = False
        elif len(plan.withheld()) < len(cells):
            plan.complements.add(_smallest_shown(cells, plan))
        else:
            # Nothing of the group is shown any more: what is left pinned was pinned by
            # earlier releases alone, and this one adds no figure to it.
            break
    withheld = plan.withheld()
    return Released(
        {c: None if c in withheld else rounded(n, rules.base) for c, n in cells.items()},
        rounded(total, rules.base) if plan.total_shown else None,
        bounds,
    )


def _smallest_shown(cells: Mapping[str, int], plan: _Plan) -> str:
    withheld = plan.withheld()
    return min((n, c) for c, n in cells.items() if c not in withheld)[1]


def _bounds(
    cells: Mapping[str, int], rules: Rules, plan: _Plan, previous: Released | None
) -> Bounds:
    """The strongest attack: for each cell, the counts it can be when each cell lies in its
    box (its class, the window of what is shown, and what earlier releases left of it when
    the count still lies there) and the cells add up to the total's box. Exact for one sum
    of bounded integers."""
    boxes = {c: _box(c, n, rules, plan, previous) for c, n in cells.items()}
    total = sum(cells.values())
    if plan.total_shown:
        total_box = _Box(*window(rounded(total, rules.base), rules))
    else:  # withheld as a complement: known to be at least k, nothing more
        total_box = _Box(rules.min_count, None)
    found: Bounds = {}
    for cell, box in boxes.items():
        others = [b for c, b in boxes.items() if c != cell]
        low = max(box.low, total_box.low - _sum_high(others))
        highs = [h for h in (box.high, _minus(total_box.high, others)) if h is not None]
        found[cell] = (low, min(highs) if highs else None)
    return found


def _box(cell: str, count: int, rules: Rules, plan: _Plan, previous: Released | None) -> _Box:
    if cell in plan.primary:
        box = _Box(0, rules.min_count - 1)
    elif cell in plan.complements:
        box = _Box(rules.min_count, None)
    else:
        box = _Box(*window(rounded(count, rules.base), rules))
    before = previous.bounds.get(cell) if previous is not None else None
    if before is not None:
        low, high = before
        if low <= count and (high is None or count <= high):
            # "Unchanged since" is consistent with the count: assume the attacker knows it.
            box = box.meet(_Box(low, high))
    return box


def _sum_high(boxes: list[_Box]) -> int:
    # An unbounded box makes the sum unbounded: a large stand-in keeps the arithmetic plain.
    return sum(b.high if b.high is not None else 1 << 62 for b in boxes)


def _minus(high: int | None, others: list[_Box]) -> int | None:
    return None if high is None else high - sum(b.low for b in others)
