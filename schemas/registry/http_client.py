"""A client of a Confluent-compatible registry over its REST API.

An external Confluent Schema Registry or Karapace (``DATONG_REGISTRY_URL``), or the hub's
own ``/registry``. Implements the same ports as the embedded store (``port.py``), so serde
works over either. Ids and schemas are cached: an id never changes meaning, so a process
asks the registry once per subject and schema.

With ``auto_register=False`` (Confluent's ``auto.register.schemas=false``) the client only
looks schemas up, never registers one: what a connector does, since the hub registers the
whole catalog and a lookup needs no write access.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from schemas.errors import RegistryError
from schemas.registry.errors import (
    ERRORS_BY_CODE,
    RegistryRequestError,
    RegistryUnreachableError,
    SchemaNotFoundError,
    SubjectNotFoundError,
)
from schemas.registry.port import Registration, SubjectVersion

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_HEADERS = {"Content-Type": CONTENT_TYPE, "Accept": f"{CONTENT_TYPE}, application/json"}


class HttpRegistry:
    """A Confluent-compatible registry over its REST API, with ids cached per process."""

    def __init__(
        self,
        url: str,
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
        *,
        auto_register: bool = True,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.auto_register = auto_register
        # HTTP basic credentials (a registry behind auth), kept out of the URL, which error
        # messages and the AsyncAPI document show.
        self._client = client or httpx.Client(timeout=timeout_s, auth=auth)
        self._ids: dict[tuple[str, str], int] = {}
        self._texts: dict[int, str] = {}

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> HttpRegistry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def register(self, subject: str, schema_text: str) -> int:
        """Register ``schema_text`` under ``subject`` (idempotent) and return its id.

        Without ``auto_register`` it is only looked up: SchemaNotFoundError when the
        registry does not hold it under ``subject``.
        """
        key = (subject, schema_text)
        schema_id = self._ids.get(key)
        if schema_id is None:
            schema_id = self._registered_id(subject, schema_text)
            self._ids[key] = schema_id
            self._texts.setdefault(schema_id, schema_text)
        return schema_id

    def _registered_id(self, subject: str, schema_text: str) -> int:
        if self.auto_register:
            body = self._request("POST", f"/subjects/{_q(subject)}/versions", schema_text)
            return int(body["id"])
        found = self.lookup(subject, schema_text)
        if found is None:
            raise SchemaNotFoundError(
                f"{self.url}: {subject} does not hold this process's schema, and this process "
                "only looks schemas up: the hub registers its catalog when it creates its "
                "store, `datong schemas register` registers it by hand"
            )
        return found.schema_id

    def wait_until_answering(
        self, timeout_s: float, waiting: Callable[[str], None] | None = None
    ) -> None:
        """Return once the registry answers; RegistryUnreachableError after ``timeout_s``.

        ``waiting`` is told once, with the reason, when the first attempt gets no answer
        (a process started before the hub's API). A registry that answers with an error
        (a wrong path, say) is not waited for: its RegistryRequestError is raised at once.
        """
        deadline = time.monotonic() + timeout_s
        told = False
        while True:
            try:
                self._request("GET", "/schemas/types")
                return
            except RegistryUnreachableError as exc:
                if time.monotonic() >= deadline:
                    raise RegistryUnreachableError(
                        f"{exc}; gave up after waiting {timeout_s:g} s"
                    ) from exc
                if waiting is not None and not told:
                    waiting(str(exc))
                    told = True
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))

    def schema_text(self, schema_id: int) -> str:
        """The schema registered under ``schema_id``; SchemaNotFoundError when unknown."""
        text = self._texts.get(schema_id)
        if text is None:
            text = str(self._request("GET", f"/schemas/ids/{schema_id}")["schema"])
            self._texts[schema_id] = text
        return text

    def lookup(self, subject: str, schema_text: str) -> SubjectVersion | None:
        """The version of ``subject`` holding this schema, or None when it has none."""
        try:
            body = self._request("POST", f"/subjects/{_q(subject)}", schema_text)
        except (SubjectNotFoundError, SchemaNotFoundError):
            return None
        return SubjectVersion(subject, int(body["version"]), int(body["id"]), str(body["schema"]))

    def register_version(self, subject: str, schema_text: str) -> Registration:
        """Register (idempotent), saying which version holds it and whether it is new."""
        found = self.lookup(subject, schema_text)
        if found is not None:
            return Registration(subject, found.schema_id, found.version, created=False)
        schema_id = self.register(subject, schema_text)
        found = self.lookup(subject, schema_text)
        if found is None:  # the registry accepted it but cannot find it: not Confluent-like
            raise RegistryError(f"{self.url}: {subject} registered as id {schema_id} but lost")
        return Registration(subject, schema_id, found.version, created=True)

    def live_versions(self, subject: str) -> list[SubjectVersion]:
        """The subject's live versions, oldest first ([] for an unknown subject)."""
        try:
            numbers = self._request("GET", f"/subjects/{_q(subject)}/versions")
        except SubjectNotFoundError:
            return []
        found = []
        for number in sorted(numbers):
            body = self._request("GET", f"/subjects/{_q(subject)}/versions/{number}")
            found.append(SubjectVersion(subject, number, int(body["id"]), str(body["schema"])))
        return found

    def compatibility(self, subject: str | None = None) -> str:
        """The level in force for ``subject`` (its own, else the registry's global one)."""
        if subject is not None:
            try:
                body = self._request("GET", f"/config/{_q(subject)}?defaultToGlobal=true")
                return str(body["compatibilityLevel"])
            except RegistryRequestError as exc:
                if exc.error_code not in (40401, 40408):
                    raise
        return str(self._request("GET", "/config")["compatibilityLevel"])

    def set_compatibility(self, level: str, subject: str | None = None) -> str:
        """Set the level of ``subject`` (or the global one), e.g. FULL_TRANSITIVE on views."""
        path = "/config" if subject is None else f"/config/{_q(subject)}"
        body = self._request("PUT", path, body={"compatibility": level})
        return str(body["compatibility"])

    def _request(
        self,
        method: str,
        path: str,
        schema_text: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request; Confluent error bodies become the matching RegistryError."""
        if schema_text is not None:
            body = {"schema": schema_text}
        content = None if body is None else json.dumps(body)
        try:
            response = self._client.request(
                method, self.url + path, content=content, headers=_HEADERS
            )
        except httpx.TransportError as exc:
            raise RegistryUnreachableError(
                f"schema registry at {self.url} unreachable: {exc}"
            ) from exc
        except httpx.HTTPError as exc:
            raise RegistryError(f"schema registry at {self.url}: {exc}") from exc
        if response.is_success:
            return response.json()
        raise _error(self.url, method, path, response)


def _q(subject: str) -> str:
    return quote(subject, safe="")


def _error(url: str, method: str, path: str, response: httpx.Response) -> RegistryError:
    try:
        body = response.json()
        code, message = int(body["error_code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        code, message = response.status_code, response.text[:200]
    text = f"{url}: {method} {path} answered {response.status_code}: {message} (error {code})"
    cls = ERRORS_BY_CODE.get(code)
    return cls(text) if cls is not None else RegistryRequestError(text, code)
