"""Declarative department mappings: rows of a department's exports -> pseudonymized events.

A department's mapping is data: ``connectors/mappings/<department_dir>.yaml`` declares the
files (exports) the department produces, and for each the columns that recognise it, the
event it yields (fixed, or picked by a column such as 业务类型), the event_id template and,
per Avro field, the source column and transforms. ``connectors.mappings.loader`` loads the
YAML and checks it against the catalog into plans (``connectors.mappings.plan``); this
module runs them, compiled once per header (``connectors.mappings.compiler``).

Which export a record belongs to is decided from its columns (the header), once per
distinct header: the export whose required columns are all present (the most specific if
several are); failing that, the closest one, which then names its first missing column;
a header that shares no required column with any export is RecordError ``(header)``.
``DepartmentMapper.export_for(header)`` makes the same decision up front for a whole file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connectors.base import Event
from connectors.errors import ConnectorError, RecordError
from connectors.gazetteer import Gazetteer
from connectors.mappings.compiler import MapRow, compile_export
from connectors.mappings.plan import DepartmentSpec, ExportPlan
from connectors.transforms import canonical

# Headers seen per mapper: a file has one, JSON lines a few; bounded against odd sources.
_MAX_HEADERS = 64


class MappingError(ConnectorError):
    """A mapping YAML contradicts the catalog or itself; the message names file and entry."""


class ExportMismatch(ConnectorError):  # noqa: N818 - a file-level verdict, named for it
    """A file's header fits none of its department's exports: the whole file is refused."""


class ExportMapper:
    """Maps rows of one export; a RecordMapper for files known to be of this export."""

    def __init__(
        self, department: str, plan: ExportPlan, hmac_key: bytes, gazetteer: Gazetteer | None
    ) -> None:
        self.department = department
        self.plan = plan
        self._hmac_key = hmac_key
        self._gazetteer = gazetteer
        self._compiled: dict[tuple[str, ...], MapRow] = {}

    def __call__(self, fields: Mapping[str, str | None]) -> Event:
        """Map one row; RecordError names the first bad column."""
        header = tuple(fields)
        map_row = self._compiled.get(header)
        if map_row is None:
            map_row = self.compiled(header)
        return map_row(fields)

    def compiled(self, header: tuple[str, ...]) -> MapRow:
        """The plan compiled for rows with this header (once per header)."""
        map_row = self._compiled.get(header)
        if map_row is None:
            if len(self._compiled) >= _MAX_HEADERS:
                self._compiled.clear()
            columns = {canonical(k): k for k in header}
            map_row = compile_export(
                self.department, self.plan, columns, self._hmac_key, self._gazetteer
            )
            self._compiled[header] = map_row
        return map_row


class DepartmentMapper:
    """A department's RecordMapper: picks the export from each row's header, then maps it."""

    def __init__(
        self, spec: DepartmentSpec, hmac_key: bytes, gazetteer: Gazetteer | None = None
    ) -> None:
        if spec.needs_gazetteer and gazetteer is None:
            raise MappingError(
                f"{spec.path}: resolves addresses or feeds the gazetteer, so it needs one"
            )
        self.department = spec.department
        self.spec = spec
        self.exports = {
            plan.name: ExportMapper(spec.department, plan, hmac_key, gazetteer)
            for plan in spec.exports
        }
        self._chosen: dict[tuple[str, ...], MapRow] = {}

    def __call__(self, fields: Mapping[str, str | None]) -> Event:
        """Map one row of any of the department's exports."""
        header = tuple(fields)
        map_row = self._chosen.get(header)
        if map_row is None:
            if len(self._chosen) >= _MAX_HEADERS:
                self._chosen.clear()
            export = self._choose({canonical(k) for k in header})
            map_row = self._chosen[header] = export.compiled(header)
        return map_row(fields)

    def export_for(self, header: Iterable[str]) -> ExportMapper:
        """The export a file with this header is; RecordError ``(header)`` when none fits.

        A header that lacks some required column still gets its closest export, whose
        mapping then names the missing column on every row.
        """
        return self._choose({canonical(column) for column in header})

    def export_for_file(self, header: Iterable[str], file: str) -> ExportMapper:
        """The export a whole file is; ExportMismatch when no export has all its required
        columns, naming the department's exports and, for the closest one, the expected
        and the found headers (one error for the file, not one per row)."""
        found = [column for column in header if column]
        present = {canonical(column) for column in found}
        plans = self.spec.exports
        if any(present.issuperset(p.required) for p in plans):
            return self._choose(present)
        closest = max(plans, key=lambda p: len(present.intersection(p.required)))
        missing = [c for c in closest.required if c not in present]
        exports = ", ".join(f"{p.name} ({p.title})" for p in plans)
        # Only the columns some export knows are named: a file without a header row has a
        # resident's name, ID number and phone where the header should be, and this message
        # goes to the log.
        known = {c for p in plans for c in (*p.required, *p.optional)}
        named = [column for column in found if canonical(column) in known]
        others = len(found) - len(named)
        parts = [", ".join(named)] if named else []
        if others:
            parts.append(f"{others} column{'s' if others > 1 else ''} no export knows")
        seen = " and ".join(parts) or "no columns"
        raise ExportMismatch(
            f"{file}: its header fits no {self.department} export of {self.spec.path} "
            f"(exports: {exports}); the closest is {closest.name} ({closest.title}), which "
            f"expects {', '.join(closest.required)}; found {seen}; "
            f"missing {', '.join(missing)}. Rename the columns or fix the mapping "
            "(`datong mapping check`)"
        )

    def _choose(self, header: set[str]) -> ExportMapper:
        plans = self.spec.exports
        complete = [p for p in plans if header.issuperset(p.required)]
        if complete:
            widest = max(len(p.required) for p in complete)
            best = [p for p in complete if len(p.required) == widest]
        else:
            overlap = {p.name: len(header.intersection(p.required)) for p in plans}
            most = max(overlap.values())
            best = [p for p in plans if overlap[p.name] == most and (most or len(plans) == 1)]
        if len(best) == 1:
            return self.exports[best[0].name]
        titles = ", ".join(p.title for p in (best or plans))
        if best:
            raise RecordError("(header)", f"fits several exports: {titles}", "ambiguous_export")
        raise RecordError(
            "(header)", f"is not a known {self.department} export ({titles})", "unknown_export"
        )
