"""The connector's ledger: what an operator did to its checkpoints and dead letters.

Resets and replays change what a connector publishes next, so each is appended, one JSON
object a line, to a file beside the checkpoints: when, who, which department, what. It
holds names of files and counts, never a row's content.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from connectors.errors import ConnectorError


class Ledger:
    """An append-only JSON-lines file of operator actions."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, action: str, department: str, by: str, details: Mapping[str, object]) -> None:
        """Append one action durably (fsync), before the command reports it done."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "action": action,
            "department": department,
            "by": by,
            **details,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise ConnectorError(f"{self.path}: cannot write the connector ledger: {exc}") from exc

    def entries(self) -> list[dict[str, object]]:
        """Every action recorded, oldest first."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
