"""The fault suite's switches: the quick or the full form, and the seeds of its generators.

``DATONG_FAULTS=full`` selects the long form; anything else (or unset) the quick one that CI
runs. Every fault draws its kill points from a seeded generator: the seed is printed (and
listed at the end of the run by the faults' ``conftest.py``), and ``DATONG_FAULT_SEED=N``
replays it.
"""

from __future__ import annotations

import os
import random
import secrets
from typing import TypeVar

FULL = os.environ.get("DATONG_FAULTS", "quick").strip().lower() == "full"
MODE = "full" if FULL else "quick"
# The quick form picks one view store per fault; the full form runs each on both.
BACKENDS = ["sqlite", "postgresql"] if FULL else ["sqlite"]
POSTGRES_BACKENDS = ["sqlite", "postgresql"] if FULL else ["postgresql"]

T = TypeVar("T")
# Test node id -> the seed its generator drew, for the end-of-run summary.
SEEDS: dict[str, int] = {}


def scale(quick: T, full: T) -> T:
    """The quick or the full value of a knob, by ``DATONG_FAULTS``."""
    return full if FULL else quick


def seeded(name: str) -> random.Random:
    """A generator seeded from ``DATONG_FAULT_SEED`` or at random; the seed is printed."""
    given = os.environ.get("DATONG_FAULT_SEED")
    seed = int(given) if given else secrets.randbelow(2**31)
    SEEDS[name] = seed
    print(f"fault seed {seed} ({MODE}); replay with DATONG_FAULT_SEED={seed}")
    return random.Random(seed)
