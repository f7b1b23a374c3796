"""Resident memory of the processes under measurement, read from Linux's ``/proc``.

A process's peak is ``VmHWM`` in ``/proc/<pid>/status``: read at the end of its phase
for a process the bench stops, and by the process itself as it exits for one that
ends by itself (``peak.py``).
"""

from __future__ import annotations

from pathlib import Path

from services.errors import DatongError

KIB_PER_MB = 1024


class RssError(DatongError):
    """A process's memory could not be read (not on Linux, or the process is gone)."""


def status_field_mb(status: str, name: str) -> float:
    """The ``name`` line of a ``/proc/<pid>/status`` text (``VmHWM:  1234 kB``), in MiB."""
    for line in status.splitlines():
        label, _, rest = line.partition(":")
        if label == name:
            amount, _, unit = rest.strip().partition(" ")
            if unit != "kB":
                raise RssError(f"/proc status line {line!r} is not in kB")
            return int(amount) / KIB_PER_MB
    raise RssError(f"/proc status has no {name} line (not Linux?)")


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError as exc:
        raise RssError(f"cannot read the memory of process {pid}: {exc}") from exc


def peak_mb(pid: int) -> float:
    """The highest resident set size of a running process so far (VmHWM), in MiB."""
    return status_field_mb(_status(pid), "VmHWM")


def current_mb(pid: int) -> float:
    """The resident set size of a running process now (VmRSS), in MiB."""
    return status_field_mb(_status(pid), "VmRSS")
