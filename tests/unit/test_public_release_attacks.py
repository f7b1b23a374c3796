"""Property tests: an attacker tries to recover a withheld count from the public release.

The attacker is written here from the published rules alone, sharing no code with
``services.access.public_release``: a figure ``n`` stands for the counts ``n`` to
``n + base - 1``; a withheld count is under k, or (a complement) k or more, and the attacker
is told which, more than the release says; cells add up to the total. It keeps every value
of each withheld cell consistent with all of that (sets of integers, summed exactly) and
wins when only one is left. Across two releases it also knows which one cell changed
between them (not by how much), so every other cell is the same count in both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.access.public_release import Released, Rules, protect


@st.composite
def rules(draw: st.DrawFn) -> Rules:
    base = draw(st.integers(3, 5))
    k = base * draw(st.integers(1, 4))
    return Rules(min_count=max(k, base * -(-3 // base)), base=base)


def tables(k: int, cells: int) -> st.SearchStrategy[dict[str, int]]:
    # Counts near and under k are where suppression has work to do.
    count = st.one_of(st.integers(0, k + 2), st.integers(0, 3 * k))
    return st.fixed_dictionaries({f"B{n}": count for n in range(cells)})


def allowed(shown: int | None, true: int, k: int, base: int, cap: int) -> set[int]:
    """The counts a figure can be, as the attacker reads the rules."""
    if shown is not None:
        return set(range(shown, shown + base))
    return set(range(0, k)) if true < k else set(range(k, cap + 1))


def sums(sets: Iterable[set[int]]) -> set[int]:
    """Every sum of one value from each set."""
    found = {0}
    for values in sets:
        found = {s + v for s in found for v in values}
    return found


def knowledge(
    release: Released, truth: Mapping[str, int], k: int, base: int, cap: int
) -> tuple[dict[str, set[int]], set[int]]:
    cells = {c: allowed(release.cells[c], n, k, base, cap) for c, n in truth.items()}
    total = allowed(release.total, sum(truth.values()), k, base, cap * len(truth))
    return cells, total


def recovered_one_release(
    release: Released, truth: Mapping[str, int], k: int, base: int
) -> dict[str, set[int]]:
    """For each withheld cell, every count consistent with the release."""
    cap = 4 * k + 2 * base + max(truth.values())
    cells, total = knowledge(release, truth, k, base, cap)
    found: dict[str, set[int]] = {}
    for target in (c for c, shown in release.cells.items() if shown is None):
        others = sums(v for c, v in cells.items() if c != target)
        found[target] = {v for v in cells[target] if any(v + s in total for s in others)}
        assert truth[target] in found[target], "the attacker's model lost the truth"
    return found


def recovered_two_releases(  # noqa: PLR0917 - two releases, two truths, the rules
    first: Released,
    second: Released,
    before: Mapping[str, int],
    after: Mapping[str, int],
    changed: str,
    rules: Rules,
) -> dict[tuple[str, int], set[int]]:
    """For each cell withheld in either release (1 or 2), every count it can have been then,
    consistent with both releases and with every cell but ``changed`` the same in both."""
    k, base = rules.min_count, rules.base
    cap = 4 * k + 2 * base + max(*before.values(), *after.values())
    cells1, total1 = knowledge(first, before, k, base, cap)
    cells2, total2 = knowledge(second, after, k, base, cap)
    same = {c: cells1[c] & cells2[c] for c in before if c != changed}
    # What the unchanged cells can add up to, by each release's total and changed cell.
    fits1 = {t - a for t in total1 for a in cells1[changed]}
    fits2 = {t - a for t in total2 for a in cells2[changed]}
    found: dict[tuple[str, int], set[int]] = {}
    for cell, mine in same.items():
        if first.cells[cell] is None or second.cells[cell] is None:
            others = sums(v for c, v in same.items() if c != cell)
            values = {v for v in mine if any(v + s in fits1 & fits2 for s in others)}
            found[cell, 1] = found[cell, 2] = values
    rest = sums(same.values())
    if first.cells[changed] is None:
        found[changed, 1] = {
            a for a in cells1[changed] if any(s + a in total1 and s in fits2 for s in rest)
        }
    if second.cells[changed] is None:
        found[changed, 2] = {
            a for a in cells2[changed] if any(s + a in total2 and s in fits1 for s in rest)
        }
    for (cell, when), values in found.items():
        truth = before if when == 1 else after
        assert truth[cell] in values, "the attacker's model lost the truth"
    return found


def pinned(found: Mapping[Any, set[int]]) -> dict[Any, set[int]]:
    return {cell: values for cell, values in found.items() if len(values) < 2}


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_no_withheld_cell_is_recovered_from_one_release(data: st.DataObject) -> None:
    given_rules = data.draw(rules())
    k, base = given_rules.min_count, given_rules.base
    truth = data.draw(tables(k, data.draw(st.integers(1, 6))))
    release = protect(truth, given_rules)
    assert pinned(recovered_one_release(release, truth, k, base)) == {}


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_no_withheld_cell_is_recovered_from_two_successive_releases(data: st.DataObject) -> None:
    given_rules = data.draw(rules())
    k = given_rules.min_count
    before = data.draw(tables(k, data.draw(st.integers(1, 5))))
    changed = data.draw(st.sampled_from(sorted(before)))
    after = {**before, changed: data.draw(st.integers(0, 3 * k))}
    first = protect(before, given_rules)
    second = protect(after, given_rules, previous=first)
    found = recovered_two_releases(first, second, before, after, changed, given_rules)
    assert pinned(found) == {}


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_no_published_figure_is_from_1_to_k_minus_1(data: st.DataObject) -> None:
    given_rules = data.draw(rules())
    k = given_rules.min_count
    truth = data.draw(tables(k, data.draw(st.integers(1, 6))))
    release = protect(truth, given_rules)
    shown = [n for n in [*release.cells.values(), release.total] if n is not None]
    assert not [n for n in shown if 1 <= n < k]
    # And nothing under k is shown at all, rounded or not.
    assert all(truth[c] >= k for c, n in release.cells.items() if n is not None)
