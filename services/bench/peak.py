"""``python -m services.bench.peak OUT MODULE [ARG...]``: run MODULE as ``__main__``, then
write the process's peak RSS in MiB to OUT as it exits.

For processes that end by themselves (a connector run): ``/proc`` forgets them at exit,
and ``wait4``'s ``ru_maxrss`` cannot stand in, because Linux carries the forking
parent's resident size over ``exec`` into it (every child of the bench would be at
least as large as the bench).
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from pathlib import Path

from services.bench import rss


def main() -> None:
    """Run the module named on the command line; its exit code is this process's."""
    out, module, *args = sys.argv[1:]
    atexit.register(lambda: Path(out).write_text(f"{rss.peak_mb(os.getpid())}\n"))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
