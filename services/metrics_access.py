"""Who may read a process's ``/metrics``: anyone (``DATONG_METRICS_AUTH=open``), or a scraper
that sends ``Authorization: Bearer <DATONG_METRICS_TOKEN>``. Shared by the API's route and
the workers' and connectors' small metrics server, so all three answer alike."""

from __future__ import annotations

import hmac

# What a refused scrape is told (RFC 6750): a bearer token is wanted, in this realm.
CHALLENGE = 'Bearer realm="metrics"'


def metrics_allowed(authorization: str | None, token: str | None) -> bool:
    """True when ``token`` is None (open) or ``authorization`` is ``Bearer <token>``.

    The comparison takes the same time however much of the token matches, so a scraper on
    the pod network cannot find it byte by byte.
    """
    if token is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())
