"""The merge worker's limits, each run as its own process like the worker itself.

``python -m services.bench.consumers faust|aiokafka --topics A,B --expected N --out F``
reads its ``DATONG_*`` settings as the worker does, consumes until it has seen N
records, and writes when it saw the first batch and the last one to F (JSON).

* ``faust``: a bare faust agent with the worker's faust settings and batching
  (``take_events``) that does nothing with the events;
* ``aiokafka``: a plain aiokafka group consumer fetching batches of the same size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer

from services.merge.app import new_faust_app, raw_topics
from services.settings import Settings


@dataclass
class Progress:
    """Records seen so far, and when: ``first_*`` at the first batch, ``last_t`` at the last."""

    count: int = 0
    first_count: int = 0
    first_t: float = 0.0
    last_t: float = 0.0

    def saw(self, records: int, now: float) -> None:
        """Count a batch of ``records`` received at ``now`` (epoch seconds)."""
        if self.count == 0:
            self.first_t, self.first_count = now, records
        self.count += records
        self.last_t = now


# How long the bare agent's take_events waits to fill a batch (what the merge worker used
# before it took faust's fetches whole).
TAKE_WITHIN_S = 0.05


class Tracker:
    """Counts batches and writes the progress once ``expected`` records were seen."""

    def __init__(self, expected: int, out: Path) -> None:
        self.expected = expected
        self.out = out
        self.progress = Progress()

    @property
    def done(self) -> bool:
        """True once every expected record was seen."""
        return self.progress.count >= self.expected

    def saw(self, records: int) -> None:
        """Count a batch; on reaching ``expected``, write the result file atomically."""
        was_done = self.done
        self.progress.saw(records, time.time())
        if self.done and not was_done:
            tmp = self.out.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(self.progress)))
            tmp.replace(self.out)


def bare_faust_app(settings: Settings, topics: Sequence[str], tracker: Tracker) -> faust.App:
    """A faust app configured like ``services.merge.app.create_app``, with an idle agent."""
    # The same consumer settings as the merge worker: the ratio is only fair that way.
    app = new_faust_app(settings)
    source = raw_topics(app, topics)

    @app.agent(source)
    async def consume(stream: Any) -> None:
        async for events in stream.take_events(settings.batch_size, within=TAKE_WITHIN_S):
            tracker.saw(len(events))

    return app


async def consume_raw(settings: Settings, topics: Sequence[str], tracker: Tracker) -> None:
    """Consume with a plain aiokafka group consumer until the tracker is done."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.bootstrap,
        group_id=settings.consumer_group,
        auto_offset_reset="earliest",
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(max(0.5, settings.session_timeout_s / 5) * 1000),
    )
    await consumer.start()
    try:
        while not tracker.done:
            batches = await consumer.getmany(timeout_ms=200, max_records=settings.batch_size)
            records = sum(len(batch) for batch in batches.values())
            if records:
                tracker.saw(records)
    finally:
        await consumer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the consumer process."""
    parser = argparse.ArgumentParser(prog="python -m services.bench.consumers")
    parser.add_argument("kind", choices=("faust", "aiokafka"))
    parser.add_argument("--topics", required=True, help="comma-separated topic names")
    parser.add_argument("--expected", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    topics = args.topics.split(",")
    tracker = Tracker(args.expected, args.out)
    if args.kind == "aiokafka":
        asyncio.run(consume_raw(settings, topics, tracker))
        return 0
    app = bare_faust_app(settings, topics, tracker)
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
