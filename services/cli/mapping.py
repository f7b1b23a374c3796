"""``datong mapping check``: a department's own mapping file tried before it runs.

It checks the file against the contracts (a column whose header or sample values show an
ID number, a name or a phone number is refused where its field does not take it), says per
column what it becomes and, on a sample export, per row what a run would do (published,
parked, rejected). It publishes nothing and writes no checkpoint: the sample is mapped under
a throwaway HMAC key (no person_key is shown), and addresses resolve against the
connector's gazetteer without feeding it.
"""

from __future__ import annotations

import argparse
import secrets
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.errors import DatongError
from services.settings import Settings

if TYPE_CHECKING:
    from connectors.gazetteer import Gazetteer
    from connectors.mappings.mapper import DepartmentMapper
    from connectors.mappings.plan import DepartmentSpec, ExportPlan, FieldPlan
    from connectors.sources.drop_folder import FileSource


def add_mapping_commands(sub: Any) -> None:
    """Add these commands to the ``datong`` parser's subcommands."""
    mapping = sub.add_parser("mapping", help="a department's own mapping files")
    mapping_sub = mapping.add_subparsers(title="mapping commands")
    check = mapping_sub.add_parser(
        "check",
        help="check a mapping file against the contracts and dry-run it on a sample export "
        "(publishes nothing)",
    )
    check.add_argument("file", type=Path, help="the mapping YAML (its department: names whose)")
    check.add_argument(
        "--sample", type=Path, metavar="EXPORT", help="an export file (CSV, XLSX, JSON lines)"
    )
    check.set_defaults(handler=cmd_mapping_check)


def cmd_mapping_check(args: argparse.Namespace, settings: Settings) -> int:
    """Check ``args.file``; with ``--sample``, say what each row of it would become."""
    from connectors.mappings.loader import load_mapping_file
    from connectors.mappings.mapper import DepartmentMapper
    from schemas.catalog import Catalog

    if not args.file.is_file():
        raise DatongError(f"{args.file}: no such mapping file")
    spec = load_mapping_file(args.file, Catalog.load())
    print(f"{args.file}: {spec.department}, {len(spec.exports)} export(s), fits the contracts")
    if args.sample is None:
        for plan in spec.exports:
            _print_export(plan, None)
        return 0
    if not args.sample.is_file():
        raise DatongError(f"--sample {args.sample}: no such file")
    # A throwaway key: the dry run shows no person_key, and no key is ever written.
    mapper = DepartmentMapper(spec, secrets.token_bytes(32), _gazetteer(settings, spec))
    return _dry_run(mapper, args.sample)


def _gazetteer(settings: Settings, spec: DepartmentSpec) -> Gazetteer | None:
    """The connector's gazetteer, read only: a housing sample must not feed it."""
    if not spec.needs_gazetteer:
        return None
    from connectors.gazetteer import ReadOnlyGazetteer
    from connectors.state.store import open_state_store

    return ReadOnlyGazetteer(open_state_store(settings.connector_state_url))


def _dry_run(mapper: DepartmentMapper, sample: Path) -> int:
    from connectors.errors import RecordError
    from connectors.gazetteer import AddressUnresolved
    from connectors.sources.drop_folder import open_file
    from services.cli.connector import whole_file_fits

    source = open_file(sample)
    whole_file_fits(mapper, source)
    _sniff(mapper, source, sample)
    outcomes: Counter[str] = Counter()
    shown_header: tuple[str, ...] | None = None
    for record in source.records(None):
        header = tuple(record.fields)
        if record.fields and header != shown_header:
            _print_export(mapper.export_for(header).plan, header)
            shown_header = header
        try:
            if record.error is not None:
                raise record.error
            event = mapper(record.fields)
            outcome = f"published {event.event} {event.event_id}"
            outcomes["published"] += 1
        except AddressUnresolved as exc:
            outcome = f"parked {exc.field}: {exc.reason}"
            outcomes["parked"] += 1
        except RecordError as exc:  # the reason never repeats the value
            outcome = f"rejected {exc.field}: {exc.reason} ({exc.code})"
            outcomes["rejected"] += 1
        print(f"  row {record.position}: would be {outcome}")
    print(
        f"{sample.name}: {outcomes['published']} would be published, {outcomes['parked']} "
        f"parked, {outcomes['rejected']} rejected; nothing was published"
    )
    return 0


def _sniff(mapper: DepartmentMapper, source: FileSource, sample: Path) -> None:
    """Refuse the mapping when the sample's values show personal data (ID or phone numbers,
    names) in a column written as it is into a field that does not take it."""
    from connectors.mappings.class_fit import SAMPLE_ROWS, sample_refusals
    from connectors.mappings.mapper import MappingError

    rows = [r.fields for r in islice(source.records(None), SAMPLE_ROWS) if r.fields]
    if not rows:
        return
    header = tuple(rows[0])
    refusals = sample_refusals(mapper.export_for(header).plan, header, rows)
    if refusals:
        raise MappingError(f"{sample.name}: {'; '.join(refusals)}; nothing was published")


def _print_export(plan: ExportPlan, header: tuple[str, ...] | None) -> None:
    """Per column of the export (or of the sample's header), the fields it becomes."""
    from connectors.transforms import canonical

    print(f"export {plan.name} ({plan.title}) -> {', '.join(plan.events)}")
    uses: dict[str, list[str]] = {}
    for event in plan.events.values():
        for field_plan in event.fields:
            for column, target in _reads(field_plan, ""):
                uses.setdefault(column, []).append(target)
    for _kind, read in plan.event_id.parts:
        for column in read:
            uses.setdefault(column, []).append("event_id")
    if plan.event_column is not None:
        uses.setdefault(plan.event_column, []).append("(which event)")
    for column in plan.required + plan.optional if header is None else header:
        targets = sorted(set(uses.get(canonical(column), []))) or ["(not used)"]
        print(f"  column {column} -> {', '.join(targets)}")
    if header is not None:
        missing = [c for c in plan.required if c not in {canonical(h) for h in header}]
        for column in missing:
            print(f"  column {column} -> missing, and the export requires it")


def _reads(plan: FieldPlan, prefix: str) -> Iterator[tuple[str, str]]:
    """(column, field) for every column a field plan reads, nested records included."""
    target = f"{prefix}{plan.target}"
    if plan.column is not None:
        yield plan.column, target
    if plan.when is not None:
        yield plan.when[0], target
    for nested in plan.record or ():
        yield from _reads(nested, f"{target}.")
    if plan.otherwise is not None:
        yield from _reads(plan.otherwise, prefix)
