"""An ASGI app served by uvicorn on a free port in a thread, for tests a real browser drives."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from services.broker import free_port


@contextmanager
def served_over_http(app: ASGIApp) -> Iterator[str]:
    """``app`` on http://127.0.0.1:<port> for the ``with`` block, its lifespan run by uvicorn
    (so an app of its own: one a TestClient started is bound to that client's event loop)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
