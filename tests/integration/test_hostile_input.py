"""No input makes the API fail: generated paths, parameters, headers and bodies are thrown at
every operation of the hub's own ``/openapi.json``, on a live server, with real tokens and
without; every answer is below 500 and every connection ends with a whole answer.

Hypothesis draws the cases, seeded (``derandomize``) so a run is repeatable. Values mix the
plausible (view names, stored keys, numbers) with the hostile (Unicode digits, thousands of
digits, NUL, deep JSON), so that checks deep inside a route are reached as well as the first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from services.access.tokens import create_token
from services.store.database import create_engine, create_schema
from tests.support.hub import Hub, make_env
from tests.support.pipeline import answers_ok
from tests.support.view_rows import seed_rows, store_rows

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 25
COMMUNITIES = ["110105001001", "110105001002"]
VIEWS = ["resident_profile", "household", "community_situation", "alert"]
SUBJECTS = ["view.alert-value", "src.health.health-status-changed-value"]


@dataclass(frozen=True)
class Target:
    """A live API, its operations as its OpenAPI document lists them, and what to send."""

    url: str
    operations: list[tuple[str, str, dict[str, Any]]]  # method, path template, operation
    keys: list[str]
    authorizations: list[str | None]
    hub: Hub

    @property
    def reader(self) -> str:
        """A reader of every community's views (health-department)."""
        return f"Bearer {self.secrets[0]}"

    @property
    def writer(self) -> str:
        """A department's token (health): ingest and registry writes."""
        return f"Bearer {self.secrets[-1]}"

    @property
    def secrets(self) -> list[str]:
        return [a.removeprefix("Bearer ") for a in self.authorizations[2:] if a]


@pytest.fixture(scope="module")
def target(
    start_broker: Callable[[], str],
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("hostile")
    env = make_env(start_broker(), module_database_url, tmp / "var")
    engine = create_engine(module_database_url)
    create_schema(engine)
    rows = seed_rows([*COMMUNITIES, None], per_community=2)
    store_rows(engine, rows)
    secrets = [
        create_token(engine, audience=audience).secret
        for audience in ("health-department", "community-dashboard", "grid-office-110105001001")
    ]
    department = create_token(engine, department="health").secret
    engine.dispose()
    hub = Hub(env, tmp)
    try:
        hub.start("api")
        url = f"http://127.0.0.1:{env['DATONG_API_PORT']}"
        hub.wait_for(lambda: answers_ok(f"{url}/healthz"), "the API")
        document = httpx.get(f"{url}/openapi.json", timeout=10).json()
        operations = [
            (method.upper(), path, operation)
            for path, methods in document["paths"].items()
            for method, operation in methods.items()
        ]
        authorizations = [None, "Bearer nonsense", *(f"Bearer {s}" for s in [*secrets, department])]
        yield Target(url, operations, [r.key for r in rows], authorizations, hub)
    finally:
        hub.stop()


# --- what is thrown ----------------------------------------------------------------------------

TROUBLEMAKERS = [
    "",
    "\u00b2",  # a superscript two: isdigit() but not int()
    "\uff13",  # a fullwidth three
    "\u0663",  # an Arabic-Indic three
    "9" * 5000,
    "-1",
    "+7",
    " 7",
    "0x10",
    "1e3",
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate
    "latest",
    "%",
    "..",
    "/",
    "'; drop table view_row; --",
    "[" * 200,
    "\u202e",
    "99999999999999999999",
    "2147483648",
    "9223372036854775808",
]
HOSTILE_TEXT = st.sampled_from(TROUBLEMAKERS)
# Parameters some route reads, thrown at every route.
EXTRA_QUERY = ["limit", "days", "cursor", "deleted", "verbose", "permanent"]
NUMBERS = st.integers(min_value=-(2**70), max_value=2**70).map(str)
EVENT_IDS = st.lists(
    st.tuples(st.one_of(NUMBERS, HOSTILE_TEXT), st.one_of(NUMBERS, HOSTILE_TEXT)), max_size=5
).map(lambda pairs: ",".join(f"{p}:{o}" for p, o in pairs))


PLAUSIBLE_FIRST = {
    "view": "resident_profile",
    "code": COMMUNITIES[0],
    "subject": SUBJECTS[0],
    "department": "health",
    "event": "health-status-changed",
    "version": "1",
    "schema_id": "1",
}


def plausible(target: Target, name: str) -> st.SearchStrategy[str]:
    """Values the route recognises for ``name``, so the checks behind the first are reached."""
    known: dict[str, list[str]] = {
        "view": VIEWS,
        "key": target.keys,
        "code": COMMUNITIES,
        "community": COMMUNITIES,
        "subject": SUBJECTS,
        "department": ["health", "grid"],
        "event": ["health-status-changed"],
        "version": ["1", "latest", "-1"],
        "schema_id": ["1", "2"],
        "limit": ["1", "500"],
        "days": ["1", "31"],
        "fields": ["community_code", "person_key,health_status"],
    }
    return st.sampled_from(known.get(name, [*VIEWS, *COMMUNITIES, "1"]))


def hostile() -> st.SearchStrategy[str]:
    """Values no route expects: half of them from the list of known troublemakers."""
    return st.one_of(HOSTILE_TEXT, st.one_of(NUMBERS, st.text(max_size=40)))


def json_values() -> st.SearchStrategy[Any]:
    """JSON documents of every shape, the hub's own fields among the keys."""
    keys = st.sampled_from(["schema", "schemaType", "compatibility", "person_key", "event_id"])
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(keys | st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )


def plausible_bodies() -> st.SearchStrategy[bytes]:
    """Bodies a route may accept: an Avro schema, a level, an event."""
    return st.sampled_from(
        [
            json.dumps({"schema": json.dumps({"type": "record", "name": "x", "fields": []})}),
            json.dumps({"compatibility": "FULL"}),
            json.dumps({"person_key": "0" * 64, "event_id": "e1"}),
        ]
    ).map(str.encode)


def bodies() -> st.SearchStrategy[bytes]:
    """Request bodies: JSON, JSON nested far too deep, or bytes that are not JSON."""
    deep = st.integers(min_value=60, max_value=100_000).map(lambda n: b"[" * n + b"]" * n)
    return st.one_of(
        json_values().map(lambda v: json.dumps(v).encode()),
        deep,
        st.binary(max_size=64),
        st.just(b'{"schema": "' + b"\\" * 101 + b'"}'),
    )


class Rejected(Exception):  # noqa: N818 - not an error: a case HTTP cannot carry
    """The HTTP client refused to send the case."""


@dataclass(frozen=True)
class Case:
    """One request."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes | None


@st.composite
def cases(draw: st.DrawFn, target: Target, method: str, template: str, operation: Any) -> Case:
    """A request to one operation in which one input (a path segment, a query parameter,
    ``Last-Event-ID`` or the body) is hostile and the others plausible, so the hostile one
    reaches the check that concerns it."""
    declared = operation.get("parameters", [])
    in_path = [p["name"] for p in declared if p["in"] == "path"]
    in_query = [p["name"] for p in declared if p["in"] == "query"]
    extra = draw(st.sets(st.sampled_from(EXTRA_QUERY), max_size=1))
    query_names = [*in_query, *sorted(extra - set(in_query))]
    inputs = [
        *in_path,
        *query_names,
        "Last-Event-ID",
        *(["(body)"] if method in ("POST", "PUT") else []),
    ]
    victim = draw(st.sampled_from(inputs))

    def value(name: str) -> str:
        return draw(hostile() if name == victim else plausible(target, name))

    path = template
    for name in in_path:
        segment = quote(value(name), safe="", errors="surrogatepass")
        path = path.replace("{" + name + "}", segment)
    params = {n: value(n) for n in query_names if n == victim or draw(st.booleans())}
    headers = {}
    # Mostly a valid token: most checks are behind the token's.
    authorization = draw(
        st.sampled_from(target.authorizations[2:]) | st.sampled_from(target.authorizations)
    )
    if authorization is not None:
        headers["Authorization"] = authorization
    if victim == "Last-Event-ID":
        headers["Last-Event-ID"] = draw(EVENT_IDS | hostile())
    body = None
    if method in ("POST", "PUT"):
        body = draw(bodies()) if victim == "(body)" else draw(plausible_bodies())
    return Case(method, path, params, headers, body)


# --- the property ------------------------------------------------------------------------------


def answer(target: Target, client: httpx.Client, case: Case) -> int:
    """The status of the answer to ``case``; an event stream is left after its first chunk."""
    headers = {k.encode(): v.encode("utf-8", "surrogatepass") for k, v in case.headers.items()}
    query = "&".join(
        f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}" for k, v in case.params.items()
    )
    request = client.build_request(
        case.method,
        target.url + case.path + (f"?{query}" if query else ""),
        headers=headers,
        content=case.body,
    )
    try:
        response = client.send(request, stream=True)
    except httpx.LocalProtocolError:
        # HTTP itself cannot carry it (a CR in a header): no server ever sees it.
        raise Rejected from None
    try:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            next(response.iter_raw(), None)
        else:
            response.read()
    finally:
        response.close()
    return response.status_code


def sweep(target: Target, method: str, template: str, operation: Any) -> Iterator[Case]:
    """Every known troublemaker in every input of one operation, the rest plausible."""
    declared = operation.get("parameters", [])
    in_path = [p["name"] for p in declared if p["in"] == "path"]
    in_query = [p["name"] for p in declared if p["in"] == "query"]
    first = {n: PLAUSIBLE_FIRST.get(n, "1") for n in in_path}
    reader, writer = target.reader, target.writer
    token = writer if method in ("POST", "PUT", "DELETE") else reader
    body = b'{"schema": "\\"string\\""}' if method in ("POST", "PUT") else None
    for bad in TROUBLEMAKERS:
        segment = quote(bad, safe="", errors="surrogatepass")
        for name in in_path:
            path = template
            for other, plain in first.items():
                path = path.replace("{" + other + "}", segment if other == name else plain)
            yield Case(method, path, {}, {"Authorization": token}, body)
        path = template
        for other, plain in first.items():
            path = path.replace("{" + other + "}", plain)
        for name in in_query:
            yield Case(method, path, {name: bad}, {"Authorization": token}, body)
        yield Case(method, path, {}, {"Authorization": token, "Last-Event-ID": bad}, body)
        yield Case(method, path, {}, {"Authorization": token, "Last-Event-ID": f"0:{bad}"}, body)


def test_no_known_troublemaker_in_any_input_gets_a_server_error(target: Target) -> None:
    with httpx.Client(timeout=30) as client:
        for method, template, operation in target.operations:
            for case in sweep(target, method, template, operation):
                try:
                    status = answer(target, client, case)
                except Rejected:
                    continue
                assert status < 500, f"{case} answered {status}\n{target.hub.logs()[-3000:]}"


def test_no_generated_request_gets_a_server_error_or_a_dropped_connection(
    target: Target,
) -> None:
    counts: dict[int, int] = {}
    with httpx.Client(timeout=30) as client:
        for method, template, operation in target.operations:

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(cases(target, method, template, operation))
            def property_(case: Case) -> None:
                try:
                    status = answer(target, client, case)
                except Rejected:
                    reject()
                counts[status // 100] = counts.get(status // 100, 0) + 1
                assert status < 500, f"{case} answered {status}\n{target.hub.logs()[-3000:]}"

            property_()
    assert answers_ok(f"{target.url}/healthz")
    # The cases reached the routes' answers, not only their refusals.
    assert counts.get(2, 0) > sum(counts.values()) // 20, counts
