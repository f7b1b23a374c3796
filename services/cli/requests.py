"""``datong requests list|show|file|review|grant|refuse|escalate|withdraw``: sharing requests
from the hub's terminal, on the view database directly (as ``datong tokens``).

Each step is taken as a party: ``--as audience:NAME`` or ``--as department:NAME``, the hub
operator (``department:datong``) when omitted; the audit records it as ``cli:<party>``. The
same rules as over HTTP apply (``services/access/request_steps.py``): a step its party may
not take, or that the request's state does not allow, is one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from schemas.catalog import HUB_OWNER
from services.access.sharing_requests import Actor, RequestError
from services.errors import ConfigError
from services.settings import Settings

STEPS = ("review", "grant", "refuse", "escalate", "withdraw")


def add_request_commands(sub: Any) -> None:
    """Add ``requests`` to the ``datong`` parser's subcommands."""
    requests = sub.add_parser("requests", help="sharing requests: filed, reviewed, answered")
    commands = requests.add_subparsers(title="requests commands")
    listing = commands.add_parser("list", help="every request, oldest first")
    listing.add_argument("--overdue", action="store_true", help="only those with a late answer")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=cmd_list)
    show = commands.add_parser("show", help="one request: fields, answers, deadlines, history")
    show.add_argument("id")
    show.set_defaults(handler=cmd_show)
    file = commands.add_parser("file", help="file a request for an audience")
    _party(file)
    file.add_argument("--audience", required=True, help="the audience the grant is for")
    file.add_argument("--view", required=True)
    file.add_argument("--fields", required=True, help="comma-separated field names")
    file.add_argument("--purpose", required=True)
    file.add_argument("--scenario", required=True)
    file.add_argument("--days", type=int, required=True, help="how many days it is needed")
    file.set_defaults(handler=cmd_file)
    for name in STEPS:
        step = commands.add_parser(name, help=f"{name} a request")
        step.add_argument("id")
        _party(step)
        step.add_argument("--reason", help="why (required to refuse, escalate, not conform)")
        if name == "review":
            step.add_argument(
                "--not-conforming", action="store_true", help="refuse the whole request"
            )
        if name in ("grant", "refuse", "escalate"):
            step.add_argument("--fields", help="comma-separated field names")
        step.set_defaults(handler=cmd_step, step=name)


def _party(parser: Any) -> None:
    parser.add_argument(
        "--as",
        dest="party",
        default=f"department:{HUB_OWNER}",
        help="audience:NAME or department:NAME (default: the hub operator)",
    )


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every request (``--overdue``: only late ones), overdue ones marked."""
    from services.access.request_documents import shown
    from services.access.request_store import list_requests
    from services.access.sharing_requests import overdue_stages
    from services.cli.access import _engine

    now = datetime.now(UTC)
    with _engine(settings) as engine:
        found = list_requests(engine)
    if args.overdue:
        found = [r for r in found if overdue_stages(r, now)]
    for r in found:
        if args.json:
            print(json.dumps(shown(r, now), ensure_ascii=False, sort_keys=True))
            continue
        late = ", ".join(f"{s}:{d}" for s, d in overdue_stages(r, now))
        print(
            f"{r.id:18} {r.state_at(now):10} {r.audience:28} {r.view:20} "
            f"review by {r.review_due.day}  {'OVERDUE ' + late if late else ''}".rstrip()
        )
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    """Print one request as JSON."""
    from services.access.request_documents import shown
    from services.access.request_store import get_request
    from services.cli.access import _engine

    with _engine(settings) as engine:
        found = get_request(engine, args.id)
    if found is None:
        raise ConfigError(f"no sharing request {args.id!r}; see `datong requests list`")
    print(json.dumps(shown(found, datetime.now(UTC)), ensure_ascii=False, indent=2))
    return 0


def cmd_file(args: argparse.Namespace, settings: Settings) -> int:
    """File a request; prints its id."""
    from schemas.catalog import Catalog
    from services.access import holiday_calendar
    from services.access.grants import layered
    from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
    from services.access.request_steps import file_request
    from services.access.request_store import add_request, live_grants, new_request_id
    from services.access.sharing_requests import Filing
    from services.cli.access import _engine

    contracts = Catalog.load()
    base = load_policy(settings.policy_file or DEFAULT_POLICY_FILE, contracts)
    owners = {str(v.view): v.field_owners for v in contracts.views()}
    by = _actor(args.party)
    now = datetime.now(UTC)
    fields = tuple(f.strip() for f in args.fields.split(",") if f.strip())
    filing = Filing(args.audience, args.view, fields, args.purpose, args.scenario, args.days)
    with _engine(settings) as engine:
        policy = layered(base, live_grants(engine, now), now)
        try:
            made = file_request(
                filing,
                by,
                policy,
                owners.get(args.view, {}),
                new_request_id(),
                now=now,
                calendar=holiday_calendar.load(settings.holiday_calendar),
            )
        except RequestError as exc:
            raise ConfigError(str(exc)) from None
        add_request(engine, made, by)
    print(made.id)
    return 0


def cmd_step(args: argparse.Namespace, settings: Settings) -> int:
    """Take one step of a request as ``--as``; prints its state after."""
    from services.access import holiday_calendar
    from services.access import request_steps as steps
    from services.access.request_store import change_request
    from services.cli.access import _engine

    by = _actor(args.party)
    now = datetime.now(UTC)
    calendar = holiday_calendar.load(settings.holiday_calendar)
    fields = tuple(f.strip() for f in (getattr(args, "fields", None) or "").split(",") if f)
    conforms = not args.not_conforming if args.step == "review" else True
    changes = {
        "review": lambda r: steps.review(r, by, conforms, args.reason, now, calendar=calendar),
        "grant": lambda r: steps.decide(r, by, fields, True, args.reason, now=now),
        "refuse": lambda r: steps.decide(r, by, fields, False, args.reason, now=now),
        "escalate": lambda r: steps.escalate(r, by, fields, args.reason, now),
        "withdraw": lambda r: steps.withdraw(r, by, args.reason, now),
    }
    with _engine(settings) as engine:
        try:
            after = change_request(engine, args.id, changes[args.step], by, now)
        except RequestError as exc:
            raise ConfigError(str(exc)) from None
    print(f"{after.id} {after.state_at(now)}")
    return 0


def _actor(party: str) -> Actor:
    kind, _, name = party.partition(":")
    if kind not in ("audience", "department") or not name:
        raise ConfigError(f"--as takes audience:NAME or department:NAME, not {party!r}")
    holder = {
        "audience": name if kind == "audience" else None,
        "department": name if kind == "department" else None,
    }
    return Actor("cli", f"cli:{party}", **holder)
