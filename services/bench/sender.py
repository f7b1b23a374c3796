"""The offered-load sender, a process of its own, and the bench's handle on it.

Sending 5,000 events/s is most of a core in Python. In the bench's own process the
sender shared one interpreter with the visibility poller and the receivers, so the
load fell short of its rate and the timers read late. As its own process
(``python -m services.bench.sender``) it has an interpreter to itself and tells the
bench of each send on its standard output (``sent<TAB>key<TAB>epoch seconds``, in send
order), then the rate it reached (``reached<TAB>events/s``). Two kinds of load:

* ``live``: new registrations stamped when they are sent (``LiveRegistrations``), for
  the runs through a worker: the store's registry gives the schema ids;
* ``payloads``: encoded payloads from a file (``producers.write_payloads``), each under
  a key of its own (``raw_key``), for the raw limits.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.bench.connector import LiveRegistrations
from services.bench.offered import Record, offer
from services.bench.processes import ROOT, BenchError
from services.bench.producers import read_payloads
from services.store.database import create_engine
from services.store.registry_store import SqlRegistry

FLUSH_S = 0.005  # how stale a send notice may get before the bench hears of it


@dataclass(frozen=True)
class Offered:
    """What a sender did: each key's send time (epoch seconds) and the rates."""

    sent: dict[str, float]
    rate: float  # events/s asked
    reached: float  # events/s reached


def raw_key(index: int) -> bytes:
    """The key of the raw limit's ``index``-th record: as long as a person_key, unique."""
    return f"{index:064d}".encode()


def live_args(store_url: str, hmac_key: bytes, seed: int, first: int) -> list[str]:
    """The arguments of a ``live`` load: residents ``first``, ``first + 1``... registering."""
    key, seed_, first_ = hmac_key.hex(), str(seed), str(first)
    return ["live", "--store", store_url, "--hmac-key", key, "--seed", seed_, "--first", first_]


def payload_args(path: Path, topic: str) -> list[str]:
    """The arguments of a ``payloads`` load: the file's payloads, all sent to ``topic``."""
    return ["payloads", "--file", str(path), "--topic", topic]


class Sender:
    """A running sender process; ``on_sent(key, at)`` hears of each send, in a thread."""

    def __init__(
        self,
        bootstrap: str,
        rate: float,
        seconds: float,
        load: Sequence[str],
        *,
        log: Path,
        on_sent: Callable[[str, float], None] = lambda *_: None,
    ) -> None:
        self.rate = rate
        self._log = log
        self._sent: dict[str, float] = {}
        self._reached = float("nan")
        self._on_sent = on_sent
        args = ["--bootstrap", bootstrap, "--rate", str(rate), "--seconds", str(seconds), *load]
        with open(log, "wb") as errors:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "services.bench.sender", *args],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        self._reader = threading.Thread(target=self._read, daemon=True, name="sender-notices")
        self._reader.start()

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        with stdout:  # closed at the sender's end of file: the pipe never outlives it
            for line in stdout:
                kind, *fields = line.rstrip("\n").split("\t")
                if kind == "sent":
                    key, at = fields[0], float(fields[1])
                    self._sent[key] = at
                    self._on_sent(key, at)
                elif kind == "reached":
                    self._reached = float(fields[0])

    def wait(self, timeout_s: float) -> Offered:
        """Wait for the sender to finish; BenchError with its log if it failed."""
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise BenchError(f"the sender did not finish in {timeout_s:g}s") from None
        self._reader.join()
        if self._process.returncode:
            tail = self._log.read_text(errors="replace")[-3000:]
            raise BenchError(f"the sender exited with {self._process.returncode}:\n{tail}")
        return Offered(dict(self._sent), self.rate, self._reached)

    def stop(self) -> None:
        """End the sender if it still runs."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def _records(args: argparse.Namespace) -> Callable[[int], Record]:
    """The ``i``-th record of the load the command line asks for."""
    if args.kind == "payloads":
        payloads = [(value, headers) for _, _, value, headers in read_payloads(args.file)]

        def payload(i: int) -> Record:
            value, headers = payloads[i % len(payloads)]
            return Record(args.topic, raw_key(i), value, headers)

        return payload
    serde = Serde(Catalog.load(), SqlRegistry(create_engine(args.store)))
    live = LiveRegistrations(serde, bytes.fromhex(args.hmac_key), args.seed)
    return lambda i: live.record(args.first + i)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the sender process."""
    parser = argparse.ArgumentParser(prog="python -m services.bench.sender")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    kinds = parser.add_subparsers(dest="kind", required=True)
    live = kinds.add_parser("live")
    live.add_argument("--store", required=True)
    live.add_argument("--hmac-key", default=secrets.token_hex(32))
    live.add_argument("--seed", type=int, default=7)
    live.add_argument("--first", type=int, required=True)
    payloads = kinds.add_parser("payloads")
    payloads.add_argument("--file", type=Path, required=True)
    payloads.add_argument("--topic", required=True)
    args = parser.parse_args(argv)
    record = _records(args)
    out = sys.stdout
    flushed = time.monotonic()

    def sent(key: bytes, at: float) -> None:
        nonlocal flushed
        out.write(f"sent\t{key.decode()}\t{at:.6f}\n")
        if time.monotonic() - flushed > FLUSH_S:
            out.flush()
            flushed = time.monotonic()

    total = int(args.rate * args.seconds)
    reached = asyncio.run(offer(args.bootstrap, total, args.rate, record, sent))
    out.write(f"reached\t{reached}\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
