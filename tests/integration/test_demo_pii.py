"""No raw ID number, name or phone number of the demo community leaves the connectors.

A small demo community goes through every department connector the hub has, then a merge
worker and the API run over it. Every record of every ``src.*``, ``view.*``, ``dlq.*``, ``parked.*``
topic (keys, values, headers), every log line of every process and every ``/metrics`` text
is searched for each resident's ID number, name (UTF-8 and GB18030) and phone number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from connectors.demo import Manifest, build_population, generate
from connectors.demo.dirt import PARKED
from connectors.identity import mask_name, person_key
from connectors.mappings import MAPPINGS
from connectors.sources.drop_folder import open_file
from tests.support.api_tokens import reader_headers
from tests.support.hub import Hub
from tests.support.stored_views import view_rows

pytestmark = pytest.mark.integration

SEED = 11
RESIDENTS = 300
TOPIC_PREFIXES = ("src.", "view.", "dlq.", "parked.")
ID_COLUMNS = {
    "公民身份号码",
    "证件号码",
    "受种者身份证号",
    "身份证号码",
    "当事人身份证号",
    "对象身份证号",
}
NAME_COLUMNS = {"姓名", "受种者姓名", "收货人", "户名", "网格员"}
PHONE_COLUMNS = {"联系电话"}
WATCHED = "public-security"  # fed by a --watch connector, so its /metrics is read too


@dataclass
class Personal:
    """The raw personal values of the demo, and where they must never appear."""

    ids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)

    def needles(self) -> Iterator[tuple[str, bytes]]:
        """(what, bytes) for every value: names both as UTF-8 and as GB18030."""
        for number in sorted(self.ids):
            yield "ID number", number.encode()
        for phone in sorted(self.phones):
            yield "phone number", phone.encode()
        for name in sorted(self.names):
            yield "name (UTF-8)", name.encode("utf-8")
            yield "name (GB18030)", name.encode("gb18030")


def personal_values(out: Path, manifest: Manifest) -> Personal:
    """The population's values plus every ID, name and phone cell of the exports.

    The cells add what the population does not hold: the deliberately wrong ID numbers of
    dirty rows, and the grid workers' names.
    """
    found = Personal()
    for person in build_population(
        manifest.communities, manifest.residents, manifest.seed
    ).residents:
        found.ids.add(person.id_number)
        found.names.add(person.name)
        if person.phone:
            found.phones.add(person.phone)
    for counts in manifest.files:
        for record in open_file(out / counts.path).records(None):
            for column, value in record.fields.items():
                if not value:
                    continue
                for columns, bucket in (
                    (ID_COLUMNS, found.ids),
                    (NAME_COLUMNS, found.names),
                    (PHONE_COLUMNS, found.phones),
                ):
                    if column in columns:
                        bucket.add(value.strip())
    return found


def fed_departments(manifest: Manifest) -> list[str]:
    """The demo's departments the hub has a connector for, in the demo's feeding order."""
    return [d for d in manifest.departments if d in MAPPINGS]


def summaries(hub: Hub) -> dict[str, dict[str, Any]]:
    """The connectors' one-line JSON summaries, by the name of the file each describes."""
    found: dict[str, dict[str, Any]] = {}
    for log in sorted(hub.tmp.glob("connector-*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"source"' in line:
                summary = json.loads(line)
                found[Path(summary["source"]).name] = summary
    return found


def feed(hub: Hub, out: Path, manifest: Manifest) -> None:
    """Run every fed department's connector over its demo folder; one keeps watching.

    Housing goes first, alone: its export builds the gazetteer the others resolve against.
    The others then run side by side.
    """
    others = fed_departments(manifest)
    if "housing" in others:
        others.remove("housing")
        housing = hub.start("connector", "run", "housing", "--source", str(out / "housing"))
        assert housing.wait(120) == 0, hub.logs()[-5000:]
    runs = [
        hub.start("connector", "run", department, "--source", str(out / department))
        for department in others
        if department != WATCHED
    ]
    if WATCHED in others:
        watch = ("--watch", "--interval", "0.5")
        command = ("connector", "run", WATCHED, "--source", str(out / WATCHED), *watch)
        hub.start(*command, long_running=True)
    for process in runs:
        assert process.wait(120) == 0, hub.logs()[-5000:]
    files = {Path(f.path).name for d in others for f in manifest.for_department(d)}
    hub.wait_for(lambda: files <= set(summaries(hub)), "every department's files")


def assert_every_file_ends_as_counted(hub: Hub, manifest: Manifest) -> None:
    """Each connector summary agrees with the manifest: published, dead letters, parked."""
    done = summaries(hub)
    for department in fed_departments(manifest):
        for counts in manifest.for_department(department):
            summary = done[Path(counts.path).name]
            assert summary["published"] == counts.published, counts.path
            reasons = dict(summary["rejected_by_reason"])
            # Unresolvable addresses are parked, or dead-lettered where no queue is wired.
            parked = summary.get("parked", 0) + sum(reasons.pop(r, 0) for r in PARKED)
            assert parked == counts.parked, counts.path
            assert reasons == {r: n for r, n in counts.dirty.items() if r not in PARKED}


def read_all_topics(bootstrap: str, at_least: int, settle_s: float = 2.0) -> list[bytes]:
    """Keys, values and headers of every record of every src/view/dlq topic.

    Reads until ``at_least`` records arrived and nothing new came for ``settle_s`` (the
    embedded broker's end offsets cannot say "that was all").
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        topics = sorted(t for t in consumer.topics() if t.startswith(TOPIC_PREFIXES))
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        blobs: list[bytes] = []
        records = 0
        deadline = time.monotonic() + 60
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                for m in batch:
                    records += 1
                    blobs += [m.key or b"", m.value or b""]
                    blobs += [k.encode() + b"=" + (v or b"") for k, v in m.headers or []]
                    last_new = time.monotonic()
            if records >= at_least and time.monotonic() - last_new >= settle_s:
                break
        assert records >= at_least, f"read {records} records, expected at least {at_least}"
        return blobs
    finally:
        consumer.close()


def expected_records(manifest: Manifest) -> int:
    """A lower bound of the records on the topics: events, dead letters, resident profiles."""
    fed = fed_departments(manifest)
    files = [f for f in manifest.files if f.department in fed]
    return sum(f.published + f.rejected for f in files) + manifest.population["residents"]


def metrics_texts(hub: Hub) -> list[bytes]:
    """Every /metrics text the hub serves: API, worker, and the watching connector."""
    ports = ("DATONG_API_PORT", "DATONG_WORKER_METRICS_PORT", "DATONG_CONNECTOR_METRICS_PORT")
    texts = []
    for port in ports:
        response = httpx.get(f"http://127.0.0.1:{hub.env[port]}/metrics", timeout=10)
        assert response.status_code == 200
        texts.append(response.content)
    return texts


def test_no_raw_id_name_or_phone_of_the_demo_appears_in_topics_logs_or_metrics(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'views.db'}"
    hub = make_hub(start_broker(), database_url)
    hub.start("api")  # the connectors look their schema ids up in the API's registry
    out = tmp_path / "demo"
    manifest = generate(out, 1, RESIDENTS, SEED)
    personal = personal_values(out, manifest)
    feed(hub, out, manifest)
    assert_every_file_ends_as_counted(hub, manifest)

    hub.start("worker")
    hub.wait_for(
        lambda: sum(visible for visible, _, _ in view_rows(database_url).values()) >= RESIDENTS,
        "every resident's profile",
    )
    person = build_population(1, RESIDENTS, SEED).residents[0]
    api = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"
    key = person_key(person.id_number, hub.settings.hmac_key)
    reader = reader_headers(database_url)
    profile = hub.wait_for(lambda: _get(f"{api}/views/resident_profile/{key}", reader), "the API")
    assert profile.json()["name_masked"].startswith(person.name[0])

    topics = read_all_topics(hub.env["DATONG_KAFKA_BOOTSTRAP"], expected_records(manifest))
    logs = [log.read_bytes() for log in sorted(hub.tmp.glob("*.log"))]
    places = {
        "topics": b"\0\0".join(topics),
        "logs": b"\0\0".join(logs),
        "metrics": b"\0\0".join(metrics_texts(hub)),
        "API": profile.content,
    }
    # the masked name is there, so these are the bytes where a raw one would show
    assert mask_name(person.name, "name").encode() in places["topics"]
    leaks = [
        f"{what} in {where}"
        for what, needle in personal.needles()
        for where, haystack in places.items()
        if needle in haystack
    ]
    assert not leaks, f"{len(leaks)} leaks, e.g. {leaks[:5]}"


def _get(url: str, headers: dict[str, str]) -> httpx.Response | None:
    try:
        response = httpx.get(url, headers=headers, timeout=5)
    except httpx.TransportError:
        return None
    return response if response.status_code == 200 else None
