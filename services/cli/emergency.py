"""Emergency commands: ``datong emergency declare|renew|end|list|report``.

The hub operator's break-glass access, on the view database directly (``DATONG_DATABASE_URL``)
like ``datong tokens``: a running API takes a change on its next read (PostgreSQL) or within
half a second (SQLite). Each change is checked against the sharing policy the API uses
(``DATONG_POLICY_FILE``) and goes into the read audit's hash chain with it.
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from services.errors import ConfigError
from services.settings import Settings


def add_emergency_commands(sub: Any) -> None:
    """Add ``emergency`` to the ``datong`` parser's subcommands."""
    emergency = sub.add_parser(
        "emergency", help="break-glass access: open fields and communities for up to 72 hours"
    )
    commands = emergency.add_subparsers(title="emergency commands")
    declare = commands.add_parser("declare", help="open an emergency at once (prints its id)")
    declare.add_argument("--reason", required=True, help="why (kept in the audit)")
    declare.add_argument("--hours", type=int, required=True, help="how long: 1 to 72")
    declare.add_argument(
        "--open",
        action="append",
        default=[],
        metavar="AUDIENCE:VIEW=FIELD,...",
        help="extra fields of a view for an audience (repeat; FIELD list may be empty)",
    )
    declare.add_argument(
        "--alert-types",
        action="append",
        default=[],
        metavar="AUDIENCE:VIEW=TYPE,...",
        help="extra alert types of a view of alerts for an audience (repeat)",
    )
    declare.add_argument(
        "--communities",
        action="append",
        default=[],
        metavar="AUDIENCE=CODE,...|*",
        help="extra communities for an audience, or * for all (repeat)",
    )
    declare.set_defaults(handler=cmd_declare)
    renew = commands.add_parser("renew", help="keep an open emergency open, with a new reason")
    renew.add_argument("id")
    renew.add_argument("--reason", required=True, help="why it must stay open")
    renew.add_argument("--hours", type=int, required=True, help="from now: 1 to 72")
    renew.set_defaults(handler=cmd_renew)
    end = commands.add_parser("end", help="close an emergency at once")
    end.add_argument("id")
    end.add_argument("--reason", required=True, help="why it ends")
    end.set_defaults(handler=cmd_end)
    listing = commands.add_parser("list", help="every emergency, newest first")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=cmd_list)
    report = commands.add_parser(
        "report", help="after-action report: who read what under it, with counts"
    )
    report.add_argument("id")
    report.add_argument("--json", action="store_true", help="the report as JSON")
    report.set_defaults(handler=cmd_report)


def declaration_body(args: argparse.Namespace) -> dict[str, Any]:
    """The flags of ``declare`` as the JSON body ``POST /emergencies`` takes."""
    audiences: dict[str, dict[str, Any]] = {}
    for flag, items in (("open", args.open), ("alert-types", args.alert_types)):
        for item in items:
            head, sep, names = item.partition("=")
            audience, colon, view = head.partition(":")
            if not (sep and colon and audience and view):
                raise ConfigError(f"--{flag} {item!r}: write AUDIENCE:VIEW=NAME,NAME")
            views = audiences.setdefault(audience, {}).setdefault("views", {})
            key = "fields" if flag == "open" else "alert_types"
            views.setdefault(view, {})[key] = [n for n in names.split(",") if n]
    for item in args.communities:
        audience, sep, codes = item.partition("=")
        if not (sep and audience and codes):
            raise ConfigError(f"--communities {item!r}: write AUDIENCE=CODE,CODE or AUDIENCE=*")
        audiences.setdefault(audience, {})["communities"] = (
            "*" if codes == "*" else codes.split(",")
        )
    if not audiences:
        raise ConfigError(
            "say what it opens: --open AUDIENCE:VIEW=FIELD,... and/or --communities "
            "AUDIENCE=CODE,... (see `datong emergency declare --help`)"
        )
    return {"reason": args.reason, "hours": args.hours, "audiences": audiences}


def _operator() -> Any:
    from services.access.emergency_rules import OPERATOR, Actor

    login = getpass.getuser()
    return Actor(OPERATOR, f"cli:{login}"[:32], f"operator {login}")


def _policy(settings: Settings) -> Any:
    from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy

    return load_policy(settings.policy_file or DEFAULT_POLICY_FILE)


@contextmanager
def _engine(settings: Settings) -> Iterator[Any]:
    """The view database, migrated, for one command (disposed when it ends)."""
    from services.store.database import create_engine, create_schema, disposing

    with disposing(create_engine(settings.database_url)) as engine:
        create_schema(engine)
        yield engine


def _explained(exc: Exception) -> ConfigError:
    return ConfigError(str(exc))  # each message names the part of the declaration at fault


def cmd_declare(args: argparse.Namespace, settings: Settings) -> int:
    """Check and open an emergency; print its id."""
    from services.access.emergencies import declare_emergency
    from services.access.emergency_rules import EmergencyError, check_openings, parse_declaration

    policy = _policy(settings)
    try:
        declaration = parse_declaration(declaration_body(args))
        check_openings(policy, declaration.openings)  # the operator may open anything else
        with _engine(settings) as engine:
            emergency = declare_emergency(engine, declaration, _operator(), datetime.now(UTC))
    except EmergencyError as exc:
        raise _explained(exc) from None
    print(emergency.id)
    return 0


def cmd_renew(args: argparse.Namespace, settings: Settings) -> int:
    """Keep an open emergency open for ``--hours`` from now, with a new reason."""
    from services.access.emergencies import renew_emergency
    from services.access.emergency_rules import EmergencyError, parse_hours, parse_reason

    try:
        hours = parse_hours(args.hours, "--hours")
        reason = parse_reason(args.reason, "--reason")
        with _engine(settings) as engine:
            emergency = renew_emergency(
                engine, args.id, hours=hours, reason=reason, by=_operator(), now=datetime.now(UTC)
            )
    except EmergencyError as exc:
        raise _explained(exc) from None
    print(f"{emergency.id} open until {emergency.expires_at.isoformat()}")
    return 0


def cmd_end(args: argparse.Namespace, settings: Settings) -> int:
    """Close an emergency at once."""
    from services.access.emergencies import end_emergency
    from services.access.emergency_rules import EmergencyError, parse_reason

    now = datetime.now(UTC)
    try:
        reason = parse_reason(args.reason, "--reason")
        with _engine(settings) as engine:
            emergency = end_emergency(engine, args.id, reason, _operator(), now)
    except EmergencyError as exc:
        raise _explained(exc) from None
    print(f"{emergency.id} {emergency.status(now)} at {emergency.closed_at().isoformat()}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Every emergency with its status, newest first."""
    from services.access.emergencies import list_emergencies

    with _engine(settings) as engine:
        emergencies = list_emergencies(engine)
    now = datetime.now(UTC)
    for e in emergencies:
        if args.json:
            print(json.dumps(e.as_json(now), ensure_ascii=False))
            continue
        audiences = ", ".join(sorted(e.openings))
        print(
            f"{e.id}  {e.status(now):<7}  {e.opened_at:%Y-%m-%d %H:%M} -> "
            f"{e.closed_at():%Y-%m-%d %H:%M}  {e.declared_by}  [{audiences}]  {e.reason}"
        )
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """The after-action report of one emergency, from the read audit."""
    from services.access.emergencies import get_emergency
    from services.access.emergency_report import after_action, records_under, report_text
    from services.access.emergency_rules import EmergencyError

    try:
        with _engine(settings) as engine:
            emergency = get_emergency(engine, args.id)
            report = after_action(emergency, records_under(engine, args.id), datetime.now(UTC))
    except EmergencyError as exc:
        raise _explained(exc) from None
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else report_text(report))
    return 0
