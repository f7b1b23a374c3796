"""A small HTTP server for a process's ``/metrics`` and ``/healthz`` (workers, connectors)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from services.liveness import Liveness
from services.metrics_access import CHALLENGE, metrics_allowed


def serve_metrics(
    registry: CollectorRegistry,
    host: str,
    port: int,
    liveness: Liveness | None = None,
    token: str | None = None,
) -> ThreadingHTTPServer:
    """Serve ``registry`` on ``host:port`` (0 picks a free port) in a daemon thread.

    ``/metrics`` needs ``Authorization: Bearer <token>`` when ``token`` is given (401
    otherwise). ``/healthz`` stays open for the kubelet and answers from ``liveness`` (503
    when the work loop is stuck); without one, 200 while the process runs (a connector
    publishing one file and exiting).
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            extra: dict[str, str] = {}
            if self.path.split("?")[0] == "/metrics":
                if metrics_allowed(self.headers.get("Authorization"), token):
                    body, ctype, status = generate_latest(registry), CONTENT_TYPE_LATEST, 200
                else:
                    body, ctype, status = _UNAUTHORIZED, "application/json", 401
                    extra["WWW-Authenticate"] = CHALLENGE
            elif self.path == "/healthz":
                body, status = _health(liveness)
                ctype = "application/json"
            else:
                body, ctype, status = b'{"error":"not found"}', "application/json", 404
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # scrapes every few seconds would drown the worker's own log

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return server


_UNAUTHORIZED = b'{"error":"/metrics needs the metrics bearer token","status":401}'


def _health(liveness: Liveness | None) -> tuple[bytes, int]:
    if liveness is None:
        return b'{"status":"ok"}', 200
    health = liveness.health()
    body = {"status": "ok" if health.alive else "stuck", "loop": health.detail}
    return json.dumps(body).encode(), 200 if health.alive else 503
