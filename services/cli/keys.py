"""The hub's keys seen from a connector: their check values, and refusing a wrong key.

A connector on a department's side is given the hub's HMAC and seal keys; a wrong HMAC
key would publish person_keys no other department's match (silently wrong data). Before
it publishes, it compares its keys' check values with the hub's: DATONG_HMAC_KEY_CHECK /
DATONG_SEAL_KEY_CHECK when set (``datong keys check-value`` on the hub prints them),
else what the hub API serves at ``/keys/check``.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from services.errors import ConfigError
from services.settings import Settings

log = logging.getLogger("datong")
_TIMEOUT_S = 5.0


def add_key_commands(sub: Any) -> None:
    """Add these commands to the ``datong`` parser's subcommands."""
    keys = sub.add_parser("keys", help="the hub's keys: check values for connectors")
    keys_sub = keys.add_subparsers(title="keys commands")
    check = keys_sub.add_parser(
        "check-value",
        help="print the check values of this process's keys, as DATONG_*_KEY_CHECK settings "
        "for a department's connector (they reveal nothing of the keys)",
    )
    check.set_defaults(handler=cmd_check_value)


def cmd_check_value(_: argparse.Namespace, settings: Settings) -> int:
    """Print ``DATONG_HMAC_KEY_CHECK=…`` and ``DATONG_SEAL_KEY_CHECK=…``."""
    from connectors.identity import key_check_value

    print(f"DATONG_HMAC_KEY_CHECK={key_check_value(settings.hmac_key)}")
    print(f"DATONG_SEAL_KEY_CHECK={key_check_value(settings.seal_key)}")
    return 0


def verify_keys(settings: Settings) -> None:
    """Refuse keys whose check values differ from the hub's (ConfigError naming the key);
    when the hub gives none, say that the keys are not verified."""
    from connectors.identity import key_check_value

    expected = {"HMAC_KEY": settings.hmac_key_check, "SEAL_KEY": settings.seal_key_check}
    if None in expected.values():
        served = _served_checks(settings)
        expected = {name: value or served.get(name) for name, value in expected.items()}
    keys = {"HMAC_KEY": settings.hmac_key, "SEAL_KEY": settings.seal_key}
    for name, key in keys.items():
        want = expected[name]
        if want is None:
            log.warning(
                "DATONG_%s is not verified: set DATONG_%s_CHECK (`datong keys check-value` on "
                "the hub prints it)",
                name,
                name,
            )
        elif key_check_value(key) != want.strip().lower():
            raise ConfigError(
                f"DATONG_{name} is not the hub's key: its check value is "
                f"{key_check_value(key)}, the hub's {want}; nothing was published. Ask the hub "
                f"operator for the key (DATONG_{name}_FILE)"
            )


def _served_checks(settings: Settings) -> dict[str, str]:
    """The check values the hub API serves next to its registry, or {} when it has none."""
    import httpx

    from services.api.app import KEY_CHECK_PATH

    hub = settings.registry_http_url.rstrip("/")
    if not hub.endswith("/registry"):  # another registry: it knows nothing of our keys
        return {}
    url = hub.removesuffix("/registry") + KEY_CHECK_PATH
    try:
        answer = httpx.get(url, timeout=_TIMEOUT_S)
    except httpx.HTTPError as exc:
        log.warning("cannot ask the hub for its key check values at %s: %s", url, exc)
        return {}
    if answer.status_code != 200:
        return {}
    body = answer.json()
    return {
        name: str(body[field])
        for name, field in (("HMAC_KEY", "hmac_key"), ("SEAL_KEY", "seal_key"))
        if isinstance(body, dict) and field in body
    }
