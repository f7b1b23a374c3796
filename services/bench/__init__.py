"""``datong bench``: each performance figure beside its limit, measured in the same run.

``run_bench(quick, out)`` runs it and writes the JSON report; ``render_table(report)``
prints it. See ``run.py`` for the order of a run.
"""

from services.bench.report import BenchReport, Figure, render_table
from services.bench.run import run_bench

__all__ = ["BenchReport", "Figure", "render_table", "run_bench"]
