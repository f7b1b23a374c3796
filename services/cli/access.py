"""Access commands: ``datong tokens create|list|revoke`` and ``datong audit``.

They work on the view database directly (``DATONG_DATABASE_URL``): they are the operator's
tools, as a running API reads tokens from the same tables on every request.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.errors import ConfigError
from services.settings import Settings


def add_access_commands(sub: Any) -> None:
    """Add ``tokens`` and ``audit`` to the ``datong`` parser's subcommands."""
    tokens = sub.add_parser("tokens", help="bearer tokens of audiences (read) and departments")
    tokens_sub = tokens.add_subparsers(title="tokens commands")
    create = tokens_sub.add_parser("create", help="make a token and print its secret, once")
    whom = create.add_mutually_exclusive_group(required=True)
    whom.add_argument("--audience", help="an audience of the sharing policy: reads views")
    whom.add_argument("--department", help="a department: publishes through POST /ingest")
    whom.add_argument(
        "--operator",
        action="store_true",
        help="the hub operator: reviews sharing requests (a token of the hub's own department)",
    )
    create.add_argument("--name", help="a label for lists and the audit (default: <for>-<id>)")
    create.set_defaults(handler=cmd_tokens_create)
    listing = tokens_sub.add_parser("list", help="every token (never its secret)")
    listing.set_defaults(handler=cmd_tokens_list)
    revoke = tokens_sub.add_parser("revoke", help="revoke a token by id, at once")
    revoke.add_argument("id")
    revoke.set_defaults(handler=cmd_tokens_revoke)

    audit = sub.add_parser("audit", help="who read what through the API")
    audit.add_argument("--audience", help="only this audience's reads")
    audit.add_argument("--view", help="only reads of this view")
    audit.add_argument(
        "--since", type=_instant, help="only reads at or after this ISO time (naive = UTC)"
    )
    audit.add_argument("--limit", type=_positive, default=100, help="newest N reads (default 100)")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(handler=cmd_audit)
    audit_sub = audit.add_subparsers(title="audit commands")
    verify = audit_sub.add_parser(
        "verify", help="check the audit's hash chain; exit 1 naming the first broken record"
    )
    verify.add_argument(
        "--export", type=Path, help="check this export file instead, offline (no database)"
    )
    verify.add_argument(
        "--public-key", help="with --export: the signer's public key (base64, or a file of it)"
    )
    verify.set_defaults(handler=cmd_audit_verify)
    export = audit_sub.add_parser(
        "export", help="the chain since a time as JSON lines, its head signed (Ed25519)"
    )
    export.add_argument(
        "--since", type=_instant, required=True, help="from the first read at or after this"
    )
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    export.set_defaults(handler=cmd_audit_export)


def cmd_tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    """Make a token; the secret goes to stdout alone (``TOKEN=$(datong tokens create ...)``)."""
    from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
    from services.access.tokens import create_token

    if args.operator:
        from schemas.catalog import HUB_OWNER

        args.department = HUB_OWNER
    elif args.audience is not None:
        policy = load_policy(settings.policy_file or DEFAULT_POLICY_FILE)
        if args.audience not in policy.audiences:
            raise ConfigError(
                f"no audience {args.audience!r} in {policy.source}; "
                f"audiences: {', '.join(policy.audiences)}"
            )
    else:
        from schemas.catalog import Catalog

        departments = Catalog.load().departments()
        if args.department not in departments:
            raise ConfigError(
                f"no department {args.department!r}; departments: {', '.join(departments)}"
            )
    with _engine(settings) as engine:
        issued = create_token(
            engine, audience=args.audience, department=args.department, name=args.name
        )
    info = issued.info
    print(
        f"token {info.id} ({info.name}) for {_holder(info)}; its secret is shown only now:",
        file=sys.stderr,
    )
    print(issued.secret)
    return 0


def cmd_tokens_list(_: argparse.Namespace, settings: Settings) -> int:
    """Print every token: id, name, holder, made, revoked."""
    from services.access.tokens import list_tokens

    with _engine(settings) as engine:
        tokens = list_tokens(engine)
    print(f"{'id':12}  {'name':32}  {'for':36}  {'created':20}  revoked")
    for t in tokens:
        revoked = _when(t.revoked_at) if t.revoked_at else "-"
        print(f"{t.id:12}  {t.name:32}  {_holder(t):36}  {_when(t.created_at):20}  {revoked}")
    return 0


def cmd_tokens_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a token: the API refuses it (401) from its next request on."""
    from services.access.tokens import revoke_token

    with _engine(settings) as engine:
        info = revoke_token(engine, args.id)
    print(f"revoked {info.id} ({info.name}) for {_holder(info)}")
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    """Print the newest reads matching the filters, oldest first."""
    from services.access.audit import find_reads

    with _engine(settings) as engine:
        entries = find_reads(
            engine,
            audience=args.audience,
            view=args.view,
            since=args.since,
            limit=args.limit,
        )
    for e in entries:
        if args.json:
            record = {**e.__dict__, "at": e.at.isoformat()}
            print(json.dumps(record, ensure_ascii=False, sort_keys=True))
            continue
        what = f"key={e.key}" if e.key is not None else _query(e.query)
        under = f"  under emergency {e.emergency_id}" if e.emergency_id else ""
        print(
            f"{_when(e.at)}  {e.status}  {e.audience}  {e.token_name} ({e.token_id})  "
            f"{e.operation} {e.view} {what}  rows={e.rows}  purpose: {e.purpose or '-'}{under}"
        )
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Verify the read audit's hash chain (or an export of it, offline): 0 and each day's
    head when intact, else 1 and the first record that was altered, deleted or inserted."""
    from services.access.audit import verify_reads
    from services.access.audit_chain import ChainBreak, ChainReport
    from services.access.audit_export import verify_export

    result: ChainReport | ChainBreak
    if args.export is not None:
        if not args.public_key:
            raise ConfigError("--export needs --public-key (the signer's, from `audit export`)")
        key_file = Path(args.public_key)
        key = key_file.read_text() if key_file.is_file() else args.public_key
        with args.export.open(encoding="utf-8") as lines:
            result = verify_export(lines, key)
    else:
        with _engine(settings) as engine:
            result = verify_reads(engine)
    if isinstance(result, ChainBreak):
        print(f"audit chain broken at record {result.record_id}: {result.reason}")
        return 1
    print(f"audit chain intact: {result.records} records")
    for day, head in sorted(result.day_heads.items()):
        print(f"{day.isoformat()}  head {head}")
    return 0


def cmd_audit_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the audit since ``--since`` with its signed head; print the public key to check it."""
    from services.access.audit import export_reads
    from services.access.audit_export import public_key_text, signing_key

    key = signing_key(settings.audit_signing_key())
    with _engine(settings) as engine, args.out.open("w", encoding="utf-8") as out:
        count = export_reads(engine, args.since, out, key)
    print(f"exported {count} records to {args.out}; check it with", file=sys.stderr)
    print(
        f"datong audit verify --export {args.out} --public-key {public_key_text(key)}",
        file=sys.stderr,
    )
    return 0


@contextmanager
def _engine(settings: Settings) -> Iterator[Any]:
    """The view database, migrated, for one command (disposed when it ends)."""
    from services.store.database import create_engine, create_schema, disposing

    with disposing(create_engine(settings.database_url)) as engine:
        create_schema(engine)
        yield engine


def _holder(token: Any) -> str:
    return f"audience {token.audience}" if token.audience else f"department {token.department}"


def _when(instant: datetime) -> str:
    aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _query(query: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(query.items())) or "(all)"


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _positive(text: str) -> int:
    # ASCII only: str.isdigit() passes digits such as "²" that int() refuses.
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)
