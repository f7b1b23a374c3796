"""The hub's keys (HMAC, seal, audit signing): given in a variable or a file, or made once
under ``var/keys`` for a development hub.

``Settings`` reads them through these; a process that needs a key nobody gave is told
what to provide (``missing_key``), and only a development hub generates one.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from services.errors import ConfigError
from services.setting_values import PREFIX


def read_key(value: str | None, file: str | None, name: str, var_dir: Path) -> bytes | None:
    """A 32-byte key from DATONG_<name> (base64), else from DATONG_<name>_FILE, else from a
    development hub's ``var/keys/`` when one made it; None when none is given."""
    if value is not None and file is not None:
        raise ConfigError(f"{PREFIX}{name} and {PREFIX}{name}_FILE are both set: keep one")
    if file is not None:
        try:
            value = Path(file).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{PREFIX}{name}_FILE: cannot read {file}: {exc}") from None
        name = f"{name}_FILE"
    if value is None:
        path = var_dir / "keys" / name.lower()
        if not path.exists():
            return None
        value, name = path.read_text().strip(), f"{name} (in {path})"
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be base64") from None
    if len(raw) < 32:
        raise ConfigError(f"{PREFIX}{name} must decode to at least 32 bytes, got {len(raw)}")
    return raw


def missing_key(name: str, what: str, var_dir: Path) -> str:
    """What to tell an operator whose process needs DATONG_<name> and was not given it."""
    return (
        f"no {PREFIX}{name}: this process needs the hub's key for {what} and never makes "
        f"one; ask the hub operator for it and give it as {PREFIX}{name}_FILE=<file holding "
        f"it in base64> or {PREFIX}{name}=<base64> (a development hub keeps it in "
        f"{var_dir / 'keys' / name.lower()})"
    )


def generated_key(name: str, var_dir: Path) -> bytes:
    """The key generated once under ``var_dir/keys``, kept so that person keys and sealed
    dead letters stay valid across restarts of a development hub."""
    path = var_dir / "keys" / name.lower()
    if path.exists():
        return base64.b64decode(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)  # fails if another process won the race: then use its key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return base64.b64decode(path.read_text().strip())


def audit_signing_key(
    text: str | None, file: str | None, var_dir: Path, *, development: bool
) -> bytes:
    """The audit exports' Ed25519 seed (its first 32 bytes): DATONG_AUDIT_SIGNING_KEY (``text``)
    or its file's, or on a ``development`` hub one generated once under ``var/keys`` when
    ``datong audit export`` first asks; anywhere else ConfigError saying what to give."""
    given = read_key(text, file, "AUDIT_SIGNING_KEY", var_dir)
    if given is not None:
        return given
    if not development:
        # A key made here would sign whatever the table holds now, edits included, and
        # print its own public key beside the file: the export would prove nothing.
        raise ConfigError(missing_key("AUDIT_SIGNING_KEY", "signing audit exports", var_dir))
    return generated_key("AUDIT_SIGNING_KEY", var_dir)
