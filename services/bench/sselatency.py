"""Event-to-SSE latency at 1,000 events/s: waits for ``GET /subscribe/{view}``.

The Server-Sent Events endpoint is issue 8's (branch issue8-live); until it is merged,
this step only says so in the report. Once it is there, measure it like
``viewlatency.py`` measures the view store: start ``datong api`` beside the latency
worker, subscribe to ``/subscribe/resident_profile`` (``readers.request_headers`` for
its token), send new registrations at 1,000/s (``connector.LiveRegistrations`` through
``offered.offer``), and time each person_key's first event on the stream from its
send; its limit is raw aiokafka consuming ``view.resident_profile`` at the same load.
"""

from __future__ import annotations

from services.bench.context import Run

RATE = 1_000.0
WAITS_FOR = (
    "event-to-SSE latency at 1,000/s: needs GET /subscribe/{view} "
    "(issue 8, branch issue8-live); services/bench/sselatency.py says how to measure it"
)


def event_to_sse_latency(run: Run) -> None:
    """Record that this figure waits for the SSE endpoint (nothing to measure yet)."""
    run.report.waiting.append(WAITS_FOR)
