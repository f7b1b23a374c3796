"""Source positions, saved only after the producer's flush succeeded (Kafka Connect's contract)."""

from __future__ import annotations

import json
import os
from pathlib import Path


class FileCheckpoints:
    """Last published position per source, in one JSON file per connector, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._positions: dict[str, int] = {}
        if path.exists():
            self._positions = {str(k): int(v) for k, v in json.loads(path.read_text()).items()}

    def get(self, source: str) -> int | None:
        """The last position of ``source`` that reached the broker, or None."""
        return self._positions.get(source)

    def save(self, source: str, position: int) -> None:
        """Record ``position`` durably: write a temporary file, fsync, rename over the old one."""
        self._positions[source] = position
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self._positions, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.path)
