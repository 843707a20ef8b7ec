"""In-memory API stand-ins for `httpx.MockTransport`: an events feed with
scripted failures, and a server of API v1's first revision."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

KEY = "sk_test_" + "A1b2C3d4E5f6G7h8J9k0wxyz"
BASE_URL = "http://127.0.0.1:9/v1"
ID = "5b0c7e0e-9c1a-4d8e-9a51-3c5f1f0d2a11"
ID2 = "0f6a1c55-2d8e-4b7a-9c3e-6a1b2c3d4e5f"
WHEN = "2026-11-28T09:14:03Z"

COMPANY = {
    "id": ID,
    "name": "Acme Ltd",
    "createdAt": "2026-11-23T10:00:00Z",
    "authUrl": "http://127.0.0.1:9/link/abc",
    "connections": [],
}
AUTHORIZATION = {
    "id": ID2,
    "companyId": ID,
    "integrationKey": "XERO",
    "platformName": "Xero",
    "authUrl": "http://127.0.0.1:9/link/def",
    "status": "PENDING",
    "expiresAt": "2026-12-05T10:00:00Z",
    "connectionId": None,
}


def error(status: int, message: str, **headers: str) -> httpx.Response:
    body = {"statusCode": status, "error": message, "correlationId": f"corr-{status}"}
    return httpx.Response(status, json=body, headers=headers)


def event_body(
    sequence: int, type: str = "company.updated", company_id: str = ID, **fields: Any
) -> dict[str, Any]:
    return {
        "id": f"evt-{sequence}",
        "sequence": sequence,
        "type": type,
        "occurredAt": WHEN,
        "actor": "API",
        "companyId": company_id,
        "companyName": "Acme Ltd",
        "connectionId": None,
        "authorizationId": None,
        "integrationKey": None,
        "fromStatus": None,
        "toStatus": None,
        "detail": None,
        **fields,
    }


Fault = httpx.Response | Exception


class FakeFeed:
    """`GET /events` as API.md describes it, over a list of events.

    `faults` are answered (or raised) before the feed, one per request;
    `on_read` runs before each reply is made (to add events meanwhile);
    `requests` records every request's query."""

    def __init__(self, count: int = 0, *, floor: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.floor = floor
        self.next_sequence = floor + 1
        self.faults: deque[Fault] = deque()
        self.on_read: Callable[[FakeFeed], None] | None = None
        self.requests: list[dict[str, str]] = []
        self.add(count)

    @property
    def last(self) -> int:
        return self.next_sequence - 1

    def add(self, count: int = 1, type: str = "company.updated", *, gap: int = 0, **fields: Any):
        for _ in range(count):
            self.next_sequence += gap
            self.events.append(event_body(self.next_sequence, type, **fields))
            self.next_sequence += 1

    def forget_before(self, sequence: int) -> None:
        """Retention: events up to `sequence` are no longer kept."""
        self.floor = sequence
        self.events = [e for e in self.events if e["sequence"] > sequence]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        self.requests.append(query)
        if self.faults:
            fault = self.faults.popleft()
            if isinstance(fault, Exception):
                raise fault
            return fault
        if self.on_read:
            self.on_read(self)
        size = int(query.get("pageSize", "100"))
        matching = [
            e
            for e in self.events
            if ("companyId" not in query or e["companyId"] == query["companyId"])
            and ("type" not in query or e["type"] in query["type"].split(","))
        ]
        if "after" not in query:
            results = list(reversed(matching))[:size]
            has_more = len(matching) > size
        else:
            after = int(query["after"])
            if after < self.floor or after > self.last:
                return error(410, f"Events after {after} are no longer kept")
            newer = [e for e in matching if e["sequence"] > after]
            results, has_more = newer[:size], len(newer) > size
        body = {"results": results, "hasMore": has_more, "lastSequence": self.last}
        return httpx.Response(200, json=body)


# The routes of a first-revision server (API.md without [P]): (method, path pattern).
_UUID = r"[^/]+"
FIRST_REVISION_ROUTES: list[tuple[str, str]] = [
    ("GET", r"/integrations"),
    ("POST", r"/companies"),
    ("GET", r"/companies"),
    ("GET", rf"/companies/{_UUID}"),
    ("DELETE", rf"/companies/{_UUID}"),
    ("POST", rf"/companies/{_UUID}/connections"),
    ("GET", rf"/companies/{_UUID}/connections"),
    ("GET", rf"/companies/{_UUID}/connections/{_UUID}"),
    ("PATCH", rf"/companies/{_UUID}/connections/{_UUID}"),
    ("DELETE", rf"/companies/{_UUID}/connections/{_UUID}"),
    ("POST", rf"/companies/{_UUID}/connections/{_UUID}/authorize"),
    ("GET", rf"/companies/{_UUID}/authorizations/{_UUID}"),
    ("GET", r"/sandbox"),
    ("PUT", r"/sandbox/faults"),
    ("POST", r"/sandbox/seed"),
    ("POST", rf"/sandbox/authorizations/{_UUID}/complete"),
    ("POST", rf"/sandbox/companies/{_UUID}/connections/{_UUID}/simulate"),
]
_KNOWN_FIELDS = {
    "/companies": {"name", "description"},
    "/sandbox/seed": {"companies", "connectionsPerCompany", "seed"},
}


class FirstRevisionApi:
    """A server of the first revision, as Starlette routes would answer: 404
    for no route, 405 for a route without this method, unknown query
    parameters ignored, unknown body fields refused with 422. Only `ID` is
    a company (and `ID2` its authorization)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1")
        methods = {m for m, pattern in FIRST_REVISION_ROUTES if re.fullmatch(pattern, path)}
        if not methods:
            return error(404, "No such endpoint")
        if request.method not in methods:
            return error(405, "Method not allowed")
        if request.content:
            body = json.loads(request.content)
            unknown = sorted(set(body) - _KNOWN_FIELDS.get(path, set(body)))
            if unknown:
                problems = [{"field": f, "message": "is not a known field"} for f in unknown]
                return httpx.Response(
                    422,
                    json={"statusCode": 422, "error": "Invalid body", "validation": problems},
                )
        parts = path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "companies" and parts[1] != ID:
            return error(404, "Company not found")
        return self._answer(request.method, parts)

    def _answer(self, method: str, parts: list[str]) -> httpx.Response:
        if parts == ["companies"]:
            if method == "POST":
                return httpx.Response(201, json=COMPANY)
            return httpx.Response(
                200, json={"results": [COMPANY], "pageNumber": 1, "pageSize": 50, "totalResults": 1}
            )
        if parts[0] == "companies" and len(parts) == 2:
            return httpx.Response(204) if method == "DELETE" else httpx.Response(200, json=COMPANY)
        if parts[-1] in ("connections", "authorize") and method == "POST":
            return httpx.Response(201, json=AUTHORIZATION)
        if parts[0] == "companies" and parts[2] == "authorizations":
            return httpx.Response(200, json=AUTHORIZATION)
        if parts == ["sandbox"]:
            return httpx.Response(200, json={"sandbox": True, "version": "1.0"})
        if parts == ["sandbox", "seed"]:
            return httpx.Response(200, json={"created": 1})
        return httpx.Response(200, json={})
