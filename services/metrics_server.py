"""A small HTTP server for a process's ``/metrics`` and ``/healthz`` (workers, connectors)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from services.liveness import Liveness


def serve_metrics(
    registry: CollectorRegistry, host: str, port: int, liveness: Liveness | None = None
) -> ThreadingHTTPServer:
    """Serve ``registry`` on ``host:port`` (0 picks a free port) in a daemon thread.

    ``/healthz`` answers from ``liveness`` (503 when the work loop is stuck); without one,
    200 while the process runs (a connector publishing one file and exiting).
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/metrics":
                body, ctype, status = generate_latest(registry), CONTENT_TYPE_LATEST, 200
            elif self.path == "/healthz":
                body, status = _health(liveness)
                ctype = "application/json"
            else:
                body, ctype, status = b'{"error":"not found"}', "application/json", 404
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # scrapes every few seconds would drown the worker's own log

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return server


def _health(liveness: Liveness | None) -> tuple[bytes, int]:
    if liveness is None:
        return b'{"status":"ok"}', 200
    health = liveness.health()
    body = {"status": "ok" if health.alive else "stuck", "loop": health.detail}
    return json.dumps(body).encode(), 200 if health.alive else 503
