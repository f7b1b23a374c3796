"""JSON from outside, parsed only once it is known to be shallow enough.

``json.loads`` recurses once per level of nesting: a body of 50,000 ``[`` reaches Python's
recursion limit, and an error there is no answer a client can act on. ``loads_bounded``
measures the nesting first with a scan that does not recurse (escapes and strings removed,
then the brackets counted, all in linear time), so every body gets a clear refusal naming
the reason. Both the connectors' HTTP intake and the hub's routes read bodies from
strangers, hence it lives here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from schemas.errors import SchemaError

MAX_DEPTH = 64

# Escapes go first (a backslash and the byte after it), so that every quote left opens or
# closes a string and a string is just quote, non-quotes, quote. Both passes are linear: a
# pattern that matched escapes inside strings rescanned to the end of the body from every
# quote of an unterminated string, quadratic in a body of one quote and many \" pairs.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_OPENERS = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class JsonDepthError(SchemaError):
    """A JSON document nested deeper than the bound; the message names the bound."""


def nesting_exceeds(document: bytes | str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether ``document`` nests arrays and objects deeper than ``max_depth`` levels.

    Brackets inside strings do not count. A malformed document may be judged on its
    brackets alone; ``json.loads`` refuses it afterwards anyway.
    """
    raw = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    brackets = _STRING.sub(b"", _ESCAPE.sub(b"", raw)).translate(None, _NOT_BRACKETS)
    depth = 0
    for bracket in brackets:
        if bracket in _OPENERS:
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def loads_bounded(document: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads``, after refusing a document nested deeper than ``max_depth`` levels.

    Raises:
        JsonDepthError: the document nests deeper than ``max_depth``.
        ValueError: not JSON (``json.JSONDecodeError``) or not UTF-8 (``UnicodeDecodeError``).
    """
    if nesting_exceeds(document, max_depth):
        raise JsonDepthError(f"nested deeper than {max_depth} levels")
    return json.loads(document)
