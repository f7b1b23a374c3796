"""The API's uvicorn server: it ends open event streams before waiting for connections."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from types import FrameType

import uvicorn
from starlette.applications import Starlette


class ApiServer(uvicorn.Server):
    """A uvicorn server whose shutdown first ends the app's subscriptions.

    An event stream never finishes by itself, so uvicorn would wait for it until its
    graceful-shutdown timeout and then cancel it mid-response; ended first, each stream
    closes cleanly and its client reconnects (to this API once it is back, or another).
    """

    def __init__(self, config: uvicorn.Config, before_shutdown: Callable[[], Awaitable[None]]):
        super().__init__(config)
        self._before_shutdown = before_shutdown

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Shut down gracefully; a stop so handled ends the process with 0.

        uvicorn raises a captured signal again once it has shut down, so a clean stop by
        SIGTERM (how Kubernetes and compose stop a container) would end "killed by signal
        15", indistinguishable from one that was not clean; Ctrl-C likewise.
        """
        super().handle_exit(sig, frame)
        self._captured_signals.clear()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """End the subscriptions, then shut down as uvicorn does."""
        await self._before_shutdown()
        await super().shutdown(sockets)


def serve(app: Starlette, host: str, port: int) -> None:
    """Serve ``app`` (made by ``create_api``) until SIGINT/SIGTERM."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5
    )
    ApiServer(config, app.state.subscriptions.close).run()
