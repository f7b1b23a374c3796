"""The intake refuses a token configuration it could not enforce, before serving anything."""

from __future__ import annotations

import hashlib

import pytest

from connectors.errors import ConnectorError
from connectors.sources.http_intake import EventSink, ingest_routes
from schemas.catalog import Catalog

DIGEST = hashlib.sha256(b"token").hexdigest()


def no_sink() -> EventSink:
    raise AssertionError("configuration errors must not reach the publisher")


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ({"police": DIGEST}, "unknown department 'police'"),
        ({"health": "not-hex"}, "64 hex digits"),
        ({"health": DIGEST.upper()}, "64 hex digits"),
    ],
)
def test_tokens_for_unknown_departments_or_malformed_hashes_are_refused(
    tokens: dict[str, str], message: str
) -> None:
    with pytest.raises(ConnectorError, match=message):
        ingest_routes(no_sink, Catalog.load(), b"h" * 32, tokens=tokens)


def test_the_intake_serves_one_post_route() -> None:
    (route,) = ingest_routes(no_sink, Catalog.load(), b"h" * 32, tokens={"health": DIGEST})
    assert (route.path, route.methods) == ("/ingest/{department}/{event}", {"POST"})
