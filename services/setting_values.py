"""The values of ``DATONG_*`` variables, parsed and checked: numbers, choices, paths, tokens.

Each parser takes the variable's text (None when unset) and its name without the prefix,
and raises ConfigError saying what the variable must hold. ``Settings.from_env`` uses them;
nothing here reads the environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from services.errors import ConfigError
from services.setting_defaults import (
    DATABASE_TLS_UNCHECKED,
    DATABASE_TLS_VERIFY,
    METRICS_OPEN,
    METRICS_TOKEN,
    TOPICS_MANAGE,
    TOPICS_REQUIRE,
)

PREFIX = "DATONG_"
_Number = TypeVar("_Number", int, float)


def names(value: str | None) -> tuple[str, ...]:
    """A comma-separated list of names (audiences), blanks dropped, order kept."""
    return tuple(dict.fromkeys(filter(None, (p.strip() for p in (value or "").split(",")))))


def token_hashes(value: str | None) -> dict[str, str]:
    """DATONG_INGEST_TOKENS: ``department=<sha256 hex of its bearer token>,...``."""
    hashes: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in (value or "").split(","))):
        department, sep, digest = (s.strip() for s in item.partition("="))
        digest = digest.lower()
        if not sep or not department or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ConfigError(
                f"{PREFIX}INGEST_TOKENS: entry {len(hashes) + 1} is not "
                "department=<64 hex digits of the token's SHA-256>"
            )
        if department in hashes:
            raise ConfigError(f"{PREFIX}INGEST_TOKENS names {department} twice")
        hashes[department] = digest
    return hashes


def response_hours(value: str | None, defaults: Mapping[str, int]) -> dict[str, int]:
    """DATONG_ALERT_RESPONSE_HOURS: ``ALERT_TYPE=hours,...`` over the defaults (types not named
    keep theirs); each type one of the defaults' and each limit a whole number of hours > 0."""
    limits = dict(defaults)
    for item in filter(None, (p.strip() for p in (value or "").split(","))):
        kind, _, hours = (s.strip() for s in item.partition("="))
        if kind not in defaults:
            known = ", ".join(defaults)
            raise ConfigError(f"{PREFIX}ALERT_RESPONSE_HOURS: {kind!r} is no alert type ({known})")
        name = f"ALERT_RESPONSE_HOURS {kind}"
        limits[kind] = positive(integer(hours, name), name)
    return limits


def days(get: Callable[[str, str | None], str | None], name: str, default: int) -> int:
    """A retention in whole days, at least one (a bound of zero would delete as it writes)."""
    return positive_integer(get, name, default)


def positive_integer(get: Callable[[str, str | None], str | None], name: str, default: int) -> int:
    """The variable's whole number, greater than 0; ``default`` when it is unset."""
    return positive(integer(get(name, str(default)), name), name)


def optional_hours(get: Callable[[str, str | None], str | None], name: str) -> int | None:
    """A window in whole hours from 1 to 720 (30 days), or None (off) when it is unset."""
    value = get(name, None)
    if value is None or not value.strip():
        return None
    hours = integer(value, name)
    if not 1 <= hours <= MAX_WINDOW_HOURS:
        raise ConfigError(f"{PREFIX}{name} must be 1 to {MAX_WINDOW_HOURS} hours, got {hours}")
    return hours


MAX_WINDOW_HOURS = 720


def positive_number(
    get: Callable[[str, str | None], str | None], name: str, default: float
) -> float:
    """The variable's number, greater than 0; ``default`` when it is unset."""
    return positive(number(get(name, str(default)), name), name)


MARKS = ("inside", "committed")  # the merge worker's test marks (services/merge/marks.py)


def halt(value: str | None) -> tuple[str, int] | None:
    """DATONG_TEST_HALT: ``<mark>:<n>``, halt at the n-th time the worker reaches the mark."""
    if value is None:
        return None
    mark, _, count = value.partition(":")
    if mark not in MARKS or not count.isdigit() or int(count) < 1:
        raise ConfigError(
            f"{PREFIX}TEST_HALT must be <mark>:<n> with a mark among {', '.join(MARKS)} "
            f"and n >= 1, got {value!r}"
        )
    return mark, int(count)


def optional_path(value: str | None) -> Path | None:
    """A path, or None when the variable is unset."""
    return Path(value) if value is not None else None


def choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    """``value`` when it is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"{PREFIX}{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def positive(value: _Number, name: str) -> _Number:
    """``value`` when it is greater than 0."""
    if value <= 0:
        raise ConfigError(f"{PREFIX}{name} must be greater than 0, got {value}")
    return value


def integer(value: str | None, name: str) -> int:
    """The variable's whole number."""
    try:
        return int(value or "")
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be an integer, got {value!r}") from None


def number(value: str | None, name: str) -> float:
    """The variable's number, decimals allowed."""
    try:
        return float(value or "")
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a number, got {value!r}") from None


def metrics_token(value: str | None, file: str | None) -> str | None:
    """DATONG_METRICS_TOKEN, else the text of DATONG_METRICS_TOKEN_FILE; None if neither."""
    if value is not None and file is not None:
        raise ConfigError(
            f"{PREFIX}METRICS_TOKEN and {PREFIX}METRICS_TOKEN_FILE are both set: keep one"
        )
    if file is not None:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{PREFIX}METRICS_TOKEN_FILE: cannot read {file}: {exc}") from None
    if value is not None and len(value) < 16:
        # A short token can be guessed by a scraper on the pod network.
        raise ConfigError(f"{PREFIX}METRICS_TOKEN must be at least 16 characters")
    return value


def check_database_tls(url: str, name: str, opt_out: str) -> None:
    """Refuse a PostgreSQL URL that does not verify the server (``sslmode=verify-full``):
    without it a network attacker could stand in for the database and read every row.
    SQLite URLs are files, with no connection to protect. ``opt_out`` is the
    DATONG_DATABASE_TLS value the message offers for a development database."""
    parsed = urlsplit(url)
    if not parsed.scheme.startswith("postgresql"):
        return
    modes = parse_qs(parsed.query).get("sslmode", [])
    if modes != ["verify-full"]:
        given = f"sslmode={modes[-1]}" if modes else "no sslmode"
        raise ConfigError(
            f"{PREFIX}{name} has {given}: a production hub connects to PostgreSQL only over "
            "TLS that checks the server, so add ?sslmode=verify-full&sslrootcert=<the server "
            f"CA's file> to it (or set {PREFIX}DATABASE_TLS={opt_out} for a development "
            "database)"
        )


def database_tls(value: str | None, production: bool, database_url: str, state_url: str) -> str:
    """DATONG_DATABASE_TLS (by default verify-full with DATONG_KAFKA_BOOTSTRAP, else unchecked);
    verify-full refuses a PostgreSQL URL of the view store or the connectors' state store that
    does not check the server (:func:`check_database_tls`)."""
    mode = choice(
        value or (DATABASE_TLS_VERIFY if production else DATABASE_TLS_UNCHECKED),
        "DATABASE_TLS",
        (DATABASE_TLS_VERIFY, DATABASE_TLS_UNCHECKED),
    )
    if mode == DATABASE_TLS_VERIFY:
        check_database_tls(database_url, "DATABASE_URL", DATABASE_TLS_UNCHECKED)
        check_database_tls(state_url, "CONNECTOR_STATE_URL", DATABASE_TLS_UNCHECKED)
    return mode


def topics_mode(value: str | None, production: bool) -> str:
    """DATONG_TOPICS: by default require with DATONG_KAFKA_BOOTSTRAP, else manage the topics."""
    return choice(
        value or (TOPICS_REQUIRE if production else TOPICS_MANAGE),
        "TOPICS",
        (TOPICS_MANAGE, TOPICS_REQUIRE),
    )


def metrics_auth(value: str | None, production: bool) -> str:
    """DATONG_METRICS_AUTH: by default a token with DATONG_KAFKA_BOOTSTRAP, else open."""
    return choice(
        value or (METRICS_TOKEN if production else METRICS_OPEN),
        "METRICS_AUTH",
        (METRICS_OPEN, METRICS_TOKEN),
    )


def required_metrics_token(auth: str, given: str | None) -> str | None:
    """The bearer token ``/metrics`` requires under DATONG_METRICS_AUTH ``auth``, or None when
    it is open; ConfigError saying what to give when it is required and not ``given``."""
    if auth == METRICS_OPEN:
        return None
    if given is None:
        raise ConfigError(
            f"{PREFIX}METRICS_AUTH is {METRICS_TOKEN} (the default with "
            f"{PREFIX}KAFKA_BOOTSTRAP): give the bearer token Prometheus sends as "
            f"{PREFIX}METRICS_TOKEN_FILE=<file holding it> or {PREFIX}METRICS_TOKEN, "
            f"or set {PREFIX}METRICS_AUTH={METRICS_OPEN} where the port is private"
        )
    return given
