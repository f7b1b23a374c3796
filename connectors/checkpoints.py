"""Source positions, saved only after the producer's flush succeeded (Kafka Connect's contract).

Beside each source's position the file keeps ``since``: per destination topic partition, an
offset at or below the first record this source could have published after that position.
It is where a restarted connector starts reading back what an interrupted run already put
on the topics (see ``connectors.runner``). One JSON file per connector, replaced atomically::

    {"reg.csv@3f2a...": {"position": 4000,
                         "since": {"src.public-security.resident-registered": {"0": 1012}},
                         "origin": {"src.public-security.resident-registered": {"0": 870}}}}

``origin`` is ``since`` as it was when the source began, before its first record: nothing
the source ever published lies before it, and it never moves. An operator's reset
(``datong connector reset``) leaves ``{"position": null, "reset": true}`` and keeps
``origin``: the source starts again from its first row, skipping the rows it already
published as events, which it reads back from ``origin`` rather than from the beginning of
the topics (their whole history, which keeps growing). A bulk replay of dead letters reads
from their sources' origins too (``origins``). Files written before ``since`` or ``origin``
existed (``{"reg.csv": 4000}``) are still read; without an origin, reading starts at the
beginning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.base import Position
from connectors.errors import ConnectorError

Offsets = dict[str, dict[int, int]]
"""Topic -> partition -> offset."""


@dataclass(frozen=True)
class Checkpoint:
    """Where a source stands: its last published position (None: started, nothing saved yet)."""

    position: Position | None
    since: Offsets | None
    reset: bool = False  # an operator reset it: read back its events, not its dead letters
    origin: Offsets | None = None  # ``since`` before the source's first record; fixed


class FileCheckpoints:
    """Last published position per source, and where to read back from, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, Checkpoint] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConnectorError(f"{path}: the checkpoint file is unreadable: {exc}") from exc
            self._entries = {str(k): _entry(v) for k, v in data.items()}

    def get(self, source: str) -> Position | None:
        """The last position of ``source`` that reached the broker, or None."""
        entry = self._entries.get(source)
        return entry.position if entry else None

    def entry(self, source: str) -> Checkpoint | None:
        """Everything saved for ``source``; None when it was never started."""
        return self._entries.get(source)

    def begin(self, source: str, since: Offsets) -> None:
        """Note that ``source`` is about to publish its first records, after ``since``."""
        self._entries[source] = Checkpoint(None, _copy(since), origin=_copy(since))
        self._write()

    def save(self, source: str, position: Position, since: Offsets | None = None) -> None:
        """Record ``position`` durably; ``since`` offsets only ever move forward."""
        old = self._entries.get(source)
        merged = _copy(old.since) if old and old.since is not None else None
        if since is not None:
            merged = merged if merged is not None else {}
            for topic, partitions in since.items():
                known = merged.setdefault(topic, {})
                for partition, offset in partitions.items():
                    known[partition] = max(offset, known.get(partition, offset))
        self._entries[source] = Checkpoint(position, merged, origin=old.origin if old else None)
        self._write()

    def names(self) -> list[str]:
        """Every source this file holds a checkpoint for."""
        return sorted(self._entries)

    def reset(self, file: str | None = None) -> list[str]:
        """Start sources again from their first row: every one, or those of ``file``.

        ``file`` matches a source's full name, its name before ``@digest`` (a drop
        folder's file) or its last path part (a file given by path). Returns the sources
        reset; resetting one twice is the same as once.
        """
        chosen = [name for name in self._entries if file is None or _names_file(name, file)]
        for name in chosen:
            origin = self._entries[name].origin
            self._entries[name] = Checkpoint(None, None, reset=True, origin=origin)
        if chosen:
            self._write()
        return chosen

    def origins(self, sources: Iterable[str]) -> Offsets:
        """Where to read to find everything ``sources`` ever published: per partition, the
        lowest of their origins. Empty (read everything) when one of them has none: never
        checkpointed here, or checkpointed before origins were kept."""
        lowest: Offsets = {}
        for name in set(sources):
            entry = self._entries.get(name)
            if entry is None or entry.origin is None:
                return {}
            for topic, partitions in entry.origin.items():
                known = lowest.setdefault(topic, {})
                for partition, offset in partitions.items():
                    known[partition] = min(offset, known.get(partition, offset))
        return lowest

    def _write(self) -> None:
        """Write a temporary file, fsync, rename over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        data = {name: _plain(entry) for name, entry in self._entries.items()}
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.path)


def _entry(value: Any) -> Checkpoint:
    if isinstance(value, int | str):  # the format before read-back offsets existed
        return Checkpoint(value, None)
    return Checkpoint(
        value.get("position"),
        _offsets(value.get("since")),
        bool(value.get("reset", False)),
        _offsets(value.get("origin")),
    )


def _offsets(value: Any) -> Offsets | None:
    if value is None:
        return None
    return {t: {int(p): int(o) for p, o in parts.items()} for t, parts in value.items()}


def _json_offsets(offsets: Offsets | None) -> dict[str, dict[str, int]] | None:
    if offsets is None:
        return None
    return {t: {str(p): o for p, o in parts.items()} for t, parts in offsets.items()}


def _plain(entry: Checkpoint) -> dict[str, Any]:
    plain: dict[str, Any] = {"position": entry.position, "since": _json_offsets(entry.since)}
    if entry.reset:
        plain["reset"] = True
    if entry.origin is not None:
        plain["origin"] = _json_offsets(entry.origin)
    return plain


def _names_file(name: str, file: str) -> bool:
    base = name.rpartition("@")[0] or name
    return file in (name, base, Path(base).name)


def _copy(offsets: Offsets) -> Offsets:
    return {topic: dict(partitions) for topic, partitions in offsets.items()}
