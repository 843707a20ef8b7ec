"""Bad input that tests/sandbox does not already cover (it covers POST
/companies bodies, list parameters of /companies, bad keys at the HTTP level,
single-use and expired links, and 413 on POST /companies):

- every endpoint that takes a JSON body refuses malformed, unreadable,
  non-object and empty bodies, wrong types, unknown fields and unknown
  integration keys with a 4xx error body, never a 500, and changes nothing;
- bodies over 1 MiB are refused on every route, and are never read past the
  limit (the app is driven with an endless body and its reads are counted);
- bad and extreme `page` / `pageSize` on every list;
- the portfolio revision's parameters (state, status and type lists, `after`,
  the feed's `pageSize`, `orderBy`, text filters) and bodies (PATCH, reset,
  seed shares, contact emails, link lifetimes, the authorize call's
  optional body): a 422 naming the field, nothing changed;
- malformed, unknown, revoked and live keys through the client: a message
  naming the problem, the key masked;
- Link tokens: 256 bits, unrelated to ids, and a near miss opens nothing; a
  used link changes nothing even after the connection changed meanwhile;
- the sandbox listens on loopback only, and `serve` warns when told otherwise.
"""

from __future__ import annotations

import json
import re
import resource
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from s2b_tui.api import (
    AuthenticationError,
    InvalidApiKeyError,
    RetryPolicy,
    Sync2BooksClient,
)
from s2b_tui.sandbox import EmbeddedSandbox, SandboxStore, create_app, runner
from tests.fuzz import counts
from tests.sandbox.helpers import (
    api_http,
    assert_error,
    click,
    connect,
    create_company,
    fields,
)

MiB = 1024 * 1024


# ------------------------------------------------------------------ fixtures


class World:
    """A sandbox holding a company, a CONNECTED connection and a PENDING
    authorization: every refused request must leave it exactly so."""

    def __init__(self, sandbox: EmbeddedSandbox, http: httpx.AsyncClient) -> None:
        self.sandbox = sandbox
        self.http = http
        self.company: dict = {}
        self.connection: dict = {}
        self.authorization: dict = {}

    async def build(self) -> World:
        self.company = await create_company(self.http, "Acme Ltd")
        self.connection = await connect(self.http, self.company["id"], "XERO")
        reply = await self.http.post(
            f"/companies/{self.company['id']}/connections", json={"integrationKey": "SAGE"}
        )
        self.authorization = reply.json()
        return self

    def url(self, template: str) -> str:
        return template.format(
            company=self.company["id"],
            connection=self.connection["id"],
            authorization=self.authorization["id"],
        )

    async def fingerprint(self) -> Any:
        companies = (await self.http.get("/companies", params={"pageSize": 500})).json()
        authorization = await self.http.get(
            self.url("/companies/{company}/authorizations/{authorization}")
        )
        faults = (await self.http.get("/sandbox")).json()["faults"]
        links = (await self.http.get("/authorizations", params={"pageSize": 500})).json()
        feed = (await self.http.get("/events", params={"pageSize": 1})).json()
        return (
            companies["totalResults"],
            companies["results"],
            authorization.json(),
            faults,
            links,
            feed["lastSequence"],
        )


@pytest.fixture(scope="module")
def module_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSandbox]:
    with EmbeddedSandbox(tmp_path_factory.mktemp("bad-requests")) as running:
        yield running


@pytest.fixture
async def world(module_sandbox: EmbeddedSandbox) -> AsyncIterator[World]:
    async with httpx.AsyncClient(
        base_url=module_sandbox.base_url,
        headers={"Authorization": f"Bearer {module_sandbox.api_key}"},
        timeout=10.0,
    ) as http:
        yield await World(module_sandbox, http).build()


# Every operation that reads a JSON body, with a body it would accept.
JSON_ENDPOINTS = [
    ("POST", "/companies", {"name": "Acme"}),
    ("POST", "/companies/{company}/connections", {"integrationKey": "QUICKBOOKS"}),
    ("PATCH", "/companies/{company}/connections/{connection}", {"status": "DISCONNECTED"}),
    (
        "POST",
        "/sandbox/companies/{company}/connections/{connection}/simulate",
        {"status": "ERROR"},
    ),
    ("POST", "/sandbox/authorizations/{authorization}/complete", {"decision": "allow"}),
    ("POST", "/sandbox/seed", {"companies": 1}),
    ("PUT", "/sandbox/faults", {"latencyMs": 1}),
    ("PATCH", "/companies/{company}", {"name": "Acme"}),
    ("POST", "/sandbox/reset", {"confirm": "RESET"}),
]
ENDPOINT_IDS = [f"{method} {path}" for method, path, _ in JSON_ENDPOINTS]

# (raw body, content type, status, fragment of the error)
UNREADABLE_BODIES = [
    (b"{bad", "application/json", 400, "not valid JSON"),
    (b'{"name": "Acme"', "application/json", 400, "not valid JSON"),
    (b"   ", "application/json", 400, "not valid JSON"),
    (b"\xff\xfe\xfa", "application/json", 400, "JSON"),
    (b"[" * 100_000, "application/json", 400, "nested too deeply"),
    (b'{"n": ' + b"1" * 5_000 + b"}", "application/json", 400, "number too long"),
    (b"name=Acme", "application/x-www-form-urlencoded", 400, "must be JSON"),
    (b"<xml/>", "text/xml", 400, "must be JSON"),
    (b"", "application/json", 422, "Request body is required"),
    (b"[]", "application/json", 422, "must be a JSON object"),
    (b'"Acme"', "application/json", 422, "must be a JSON object"),
    (b"null", "application/json", 422, "must be a JSON object"),
    (b"42", "application/json", 422, "must be a JSON object"),
]


async def send(world: World, method: str, path: str, raw: bytes, content_type: str):
    area = "bad requests: bodies, parameters, keys, links"
    counts.tried(area)
    response = await world.http.request(
        method, world.url(path), content=raw, headers={"Content-Type": content_type}
    )
    if response.status_code >= 500:
        counts.server_error(area)
    return response


@pytest.mark.parametrize(("method", "path", "good"), JSON_ENDPOINTS, ids=ENDPOINT_IDS)
async def test_unreadable_bodies_are_refused_everywhere_and_change_nothing(
    world: World, method, path, good
):
    before = await world.fingerprint()
    for raw, content_type, status, fragment in UNREADABLE_BODIES:
        response = await send(world, method, path, raw, content_type)
        body = assert_error(response, status, fragment=fragment)
        if status == 422:
            assert set(fields(body)) == {"body"}, (raw[:20], body)
    assert await world.fingerprint() == before


INTEGRATIONS = "'QUICKBOOKS', 'QUICKBOOKS_DESKTOP', 'XERO' or 'SAGE'"
EMAIL = "must be an email address: one @ with text on both sides"
LIFETIMES = [
    (4, "must be at least 5"),
    (-1, "must be at least 5"),
    (43_201, "must be at most 43200"),
    (2**64, "must be at most 43200"),
    (60.0, "must be an integer"),
    ("60", "must be an integer"),
    (None, "must be an integer"),
    ({}, "must be an integer"),
]
# Bodies with wrong types, unknown fields or unknown keys: the fields named.
WRONG_BODIES: dict[str, list[tuple[dict, dict[str, str]]]] = {
    "/companies": [
        ({"name": "Acme", "description": ["x"]}, {"description": "must be a string"}),
        ({"name": {"first": "Acme"}}, {"name": "must be a string"}),
        ({"name": True}, {"name": "must be a string"}),
        ({"Name": "Acme"}, {"name": "is required", "Name": "is not a known field"}),
        *(
            ({"name": "Acme", "contactEmail": email}, {"contactEmail": message})
            for email, message in (
                ("nobody", EMAIL),
                ("a@b@c", EMAIL),
                ("@acme.example", EMAIL),
                ("a@", EMAIL),
                ("a b@c", "must not contain spaces"),
                ("a@b\u3000c", "must not contain spaces"),
                ("a\x00@b", "must not contain control characters"),
                ("a\x7f@b", "must not contain control characters"),
                ("a@b" + "c" * 252, "must be at most 254 characters (it is 255)"),
                ("a@\udfff", "must be valid Unicode text (it has an unpaired UTF-16 surrogate)"),
                (1, "must be a string"),
                (False, "must be a string"),
                ({}, "must be a string"),
            )
        ),
        ({"name": "Acme", "contact_email": "a@b"}, {"contact_email": "is not a known field"}),
    ],
    "/companies/{company}": [
        ({}, {"body": "must set at least one of name, description, contactEmail"}),
        ({"name": None}, {"name": "must be a string"}),
        ({"name": None, "description": None}, {"name": "must be a string"}),
        ({"name": ""}, {"name": "must not be empty"}),
        ({"name": "\u2003"}, {"name": "must not be empty"}),
        ({"name": ["Acme"]}, {"name": "must be a string"}),
        ({"description": False}, {"description": "must be a string"}),
        ({"description": "x" * 501}, {"description": "must be at most 500 characters (it is 501)"}),
        ({"contactEmail": ""}, {"contactEmail": EMAIL}),
        ({"contactEmail": 5}, {"contactEmail": "must be a string"}),
        ({"id": "x"}, {"id": "is not a known field"}),
        ({"connectionState": "ERROR"}, {"connectionState": "is not a known field"}),
        ({"authUrl": "http://127.0.0.1/"}, {"authUrl": "is not a known field"}),
    ],
    "/companies/{company}/connections": [
        *(
            ({"integrationKey": key}, {"integrationKey": "must be " + INTEGRATIONS})
            for key in ("xero", "QUICKBOOKS_ONLINE", "", None, 1, ["XERO"], "XERO ")
        ),
        ({"integrationKey": "XERO", "status": "CONNECTED"}, {"status": "is not a known field"}),
        ({}, {"integrationKey": "is required"}),
        *(
            ({"integrationKey": "SAGE", "expiresInMinutes": minutes}, {"expiresInMinutes": message})
            for minutes, message in LIFETIMES
        ),
        (
            {"integrationKey": "SAGE", "expires_in_minutes": 60},
            {"expires_in_minutes": "is not a known field"},
        ),
    ],
    "/sandbox/reset": [
        ({}, {"confirm": "is required"}),
        ({"confirm": "reset"}, {"confirm": "must be 'RESET'"}),
        ({"confirm": " RESET"}, {"confirm": "must be 'RESET'"}),
        ({"confirm": None}, {"confirm": "must be 'RESET'"}),
        ({"confirm": ["RESET"]}, {"confirm": "must be 'RESET'"}),
        ({"confirm": "RESET", "keys": True}, {"keys": "is not a known field"}),
    ],
    "/companies/{company}/connections/{connection}": [
        ({"status": "CONNECTED"}, {"status": "must be 'DISCONNECTED'"}),
        ({"status": "disconnected"}, {"status": "must be 'DISCONNECTED'"}),
        ({"status": None}, {"status": "must be 'DISCONNECTED'"}),
        ({"status": "DISCONNECTED", "error": None}, {"error": "is not a known field"}),
        ({}, {"status": "is required"}),
    ],
    "/sandbox/companies/{company}/connections/{connection}/simulate": [
        ({"status": "PENDING"}, {"status": "must be 'CONNECTED', 'DISCONNECTED' or 'ERROR'"}),
        ({"status": "ERROR", "errorCode": "lower"}, {"errorCode": "has an invalid format"}),
        ({"status": "ERROR", "errorCode": 7}, {"errorCode": "must be a string"}),
        (
            {"status": "ERROR", "message": "a\x1bb"},
            {"message": ("must not contain control characters other than line breaks")},
        ),
        (
            {"status": "ERROR", "message": "\ud800"},
            {"message": ("must be valid Unicode text (it has an unpaired UTF-16 surrogate)")},
        ),
        (
            {"status": "DISCONNECTED", "errorCode": "X"},
            {"errorCode": "applies only to status ERROR"},
        ),
        ({"status": "ERROR", "code": "X"}, {"code": "is not a known field"}),
    ],
    "/sandbox/authorizations/{authorization}/complete": [
        ({"decision": "ALLOW"}, {"decision": "must be 'allow' or 'deny'"}),
        ({"decision": True}, {"decision": "must be 'allow' or 'deny'"}),
        (
            {"decision": "allow", "integrationKey": "XERO"},
            {"integrationKey": "is not a known field"},
        ),
    ],
    "/sandbox/seed": [
        ({"companies": "5"}, {"companies": "must be an integer"}),
        ({"companies": 1.5}, {"companies": "must be an integer"}),
        ({"companies": -1}, {"companies": "must be at least 1"}),
        (
            {"companies": 1, "connectionsPerCompany": -1},
            {"connectionsPerCompany": "must be at least 0"},
        ),
        ({"companies": 1, "names": ["a"]}, {"names": "is not a known field"}),
        ({"companies": 1, "seed": "1"}, {"seed": "must be an integer"}),
        ({"companies": 1, "states": {"NOPE": 0.5}}, {"states.NOPE": "is not a known field"}),
        ({"companies": 1, "states": {"PENDING": 2}}, {"states.PENDING": "must be at most 1"}),
        ({"companies": 1, "states": {"PENDING": -1}}, {"states.PENDING": "must be at least 0"}),
        ({"companies": 1, "states": {"PENDING": True}}, {"states.PENDING": "must be a number"}),
        (
            {"companies": 1, "states": {"PENDING": 0.7, "ERROR": 0.7}},
            {"states": "must add up to at most 1 (they add up to 1.4)"},
        ),
        ({"companies": 1, "states": [0.5]}, {"states": "must be a JSON object"}),
        (
            {"companies": 1, "connectionsPerCompany": 0, "states": {"CONNECTED": 0.1}},
            {"states": "states ERROR, CONNECTED, DISCONNECTED need connectionsPerCompany >= 1"},
        ),
    ],
}


@pytest.mark.parametrize("path", list(WRONG_BODIES))
async def test_wrong_types_unknown_fields_and_keys_name_the_field(world: World, path):
    method = next(m for m, p, _ in JSON_ENDPOINTS if p == path)
    before = await world.fingerprint()
    for body, expected in WRONG_BODIES[path]:
        response = await send(world, method, path, json.dumps(body).encode(), "application/json")
        assert fields(assert_error(response, 422)) == expected, body
    assert await world.fingerprint() == before


# ----------------------------------------------------------------- lists

LIST_PARAMETERS: list[tuple[dict[str, Any], int, dict[str, str] | None]] = [
    ({"page": 0}, 422, {"page": "must be at least 1"}),
    ({"page": "-0"}, 422, {"page": "must be at least 1"}),
    ({"page": ""}, 422, {"page": "must be an integer"}),
    ({"page": "1e2"}, 422, {"page": "must be an integer"}),
    ({"page": "0x10"}, 422, {"page": "must be an integer"}),
    ({"page": "１"}, 422, {"page": "must be an integer"}),  # a full-width digit
    ({"page": "nan"}, 422, {"page": "must be an integer"}),
    ({"pageSize": "abc"}, 422, {"pageSize": "must be an integer"}),
    ({"pageSize": 0}, 422, {"pageSize": "must be at least 1"}),
    ({"pageSize": -1}, 422, {"pageSize": "must be at least 1"}),
    ({"pageSize": 501}, 422, {"pageSize": "must be at most 500"}),
    ({"pageSize": 10**30}, 422, {"pageSize": "must be at most 500"}),
    (
        {"page": 0, "pageSize": 0},
        422,
        {"page": "must be at least 1", "pageSize": "must be at least 1"},
    ),
    ({"page": 10**30}, 200, None),  # far past the end: an empty page
    ({"page": 2**63, "pageSize": 500}, 200, None),
    ({"pageSize": 500}, 200, None),
]


@pytest.mark.parametrize(
    "path",
    [
        "/companies",
        "/companies/{company}/connections",
        "/authorizations",
        "/companies/{company}/events",
    ],
)
async def test_bad_and_extreme_page_parameters(world: World, path):
    for params, status, expected in LIST_PARAMETERS:
        counts.tried("bad requests: bodies, parameters, keys, links")
        response = await world.http.get(world.url(path), params=params)
        if status == 200:
            assert response.status_code == 200, (params, response.text)
            page = response.json()
            assert page["pageNumber"] == int(params.get("page", 1))
            if int(params.get("page", 1)) > 1:
                assert page["results"] == []
        else:
            assert fields(assert_error(response, status)) == expected, params


STATES = "ERROR, CONNECTED, PENDING, DISCONNECTED, NOT_CONNECTED"
# The portfolio revision's parameters: (path, parameters, the field named,
# the start of its message).
FILTER_PARAMETERS = [
    *(
        ("/companies", {"state": state}, "state", f"must be one or more of {STATES}")
        for state in ("", "error", "ERROR,", ",", "ERROR;PENDING", "ERROR PENDING", "ÉRROR", "*")
    ),
    ("/companies", {"state": "ERROR,x" * 100}, "state", "must be one or more of"),
    ("/companies", {"name": "n\x1b"}, "name", "must not contain control characters"),
    ("/companies", {"name": "n" * 201}, "name", "must be at most 200 characters"),
    ("/companies", {"orderBy": "state"}, "orderBy", "must be 'name', '-name'"),
    ("/companies", {"orderBy": "-stateChangedAt "}, "orderBy", "must be 'name', '-name'"),
    ("/companies/stats", {"query": "\x00"}, "query", "must not contain control characters"),
    ("/companies/stats", {"query": "q" * 201}, "query", "must be at most 200 characters"),
    ("/authorizations", {"status": "PENDING,,"}, "status", "must be one or more of PENDING"),
    ("/authorizations", {"status": "Pending"}, "status", "must be one or more of PENDING"),
    ("/authorizations", {"orderBy": "expiresat"}, "orderBy", "must be 'expiresAt' or"),
    ("/authorizations", {"companyId": "c" * 201}, "companyId", "must be at most 200"),
    *(
        ("/events", {"after": after}, "after", message)
        for after, message in (
            (-1, "must be at least 0"),
            (-(2**70), "must be at least 0"),
            (2**63, "must be at most 9223372036854775807"),
            ("9" * 400, "must be at most 9223372036854775807"),
            ("", "must be an integer"),
            ("1.5", "must be an integer"),
            ("٣", "must be an integer"),  # an Arabic-Indic digit
            ("0b1", "must be an integer"),
            ("inf", "must be an integer"),
            ("[1]", "must be an integer"),
        )
    ),
    ("/events", {"pageSize": 0}, "pageSize", "must be at least 1"),
    ("/events", {"pageSize": 501}, "pageSize", "must be at most 500"),
    ("/events", {"type": "company.*"}, "type", "must be one or more of company.created"),
    ("/events", {"type": "company.created,,"}, "type", "must be one or more of"),
    ("/events", {"companyId": "c" * 201}, "companyId", "must be at most 200 characters"),
    ("/companies/{company}/events", {"type": "x"}, "type", "must be one or more of"),
]


@pytest.mark.parametrize(
    ("path", "params", "field", "fragment"),
    FILTER_PARAMETERS,
    ids=[f"{path} {params}"[:60] for path, params, _, _ in FILTER_PARAMETERS],
)
async def test_bad_portfolio_parameters_name_the_parameter(
    world: World, path, params, field, fragment
):
    counts.tried("bad requests: bodies, parameters, keys, links")
    response = await world.http.get(world.url(path), params=params)
    problems = fields(assert_error(response, 422))
    assert list(problems) == [field], problems
    assert problems[field].startswith(fragment), problems[field]


async def test_the_authorize_call_s_optional_body(world: World):
    """No body is fine (the default lifetime); a body, if sent, is read like
    any other: unreadable, not an object, unknown fields or a bad lifetime
    are refused, and nothing changes."""
    company = await create_company(world.http, "Optional Ltd")
    connection = await connect(world.http, company["id"], "XERO")
    base = f"/companies/{company['id']}/connections/{connection['id']}"
    await world.http.patch(base, json={"status": "DISCONNECTED"})
    before = await world.fingerprint()
    for raw, content_type, status, fragment in UNREADABLE_BODIES:
        if not raw:
            continue  # no body: the call is made (below)
        response = await send(world, "POST", base + "/authorize", raw, content_type)
        assert_error(response, status, fragment=fragment)
    for minutes, message in LIFETIMES:
        body = json.dumps({"expiresInMinutes": minutes}).encode()
        response = await send(world, "POST", base + "/authorize", body, "application/json")
        assert fields(assert_error(response, 422)) == {"expiresInMinutes": message}
    unknown = json.dumps({"integrationKey": "XERO"}).encode()
    response = await send(world, "POST", base + "/authorize", unknown, "application/json")
    assert fields(assert_error(response, 422)) == {"integrationKey": "is not a known field"}
    assert await world.fingerprint() == before
    made = await send(world, "POST", base + "/authorize", b"", "application/json")
    assert made.status_code == 201, made.text


# ------------------------------------------------------------- huge bodies

BODY_ROUTES = [(method, path) for method, path, _ in JSON_ENDPOINTS] + [("POST", "/link/{token}")]


async def drive(app, method: str, path: str, headers: list[tuple[bytes, bytes]]):
    """Run one request through the ASGI app with an endless body of 64 KiB
    chunks; returns the status and how many body bytes the app read."""
    read = 0
    statuses: list[int] = []

    async def receive():
        nonlocal read
        read += 65536
        assert read < 64 * MiB, "the app kept reading an endless body"
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return statuses, read


@pytest.mark.parametrize("idempotency_key", [None, b"huge-1"])
async def test_bodies_over_1_mib_are_refused_without_being_read(tmp_path: Path, idempotency_key):
    store = SandboxStore(tmp_path)
    app = create_app(store)
    try:
        for method, template in BODY_ROUTES:
            path = template.format(company="c", connection="n", authorization="a", token="t")
            if not path.startswith("/link"):
                path = "/v1" + path
            form = path.startswith("/link")
            headers = [
                (b"authorization", f"Bearer {store.api_key}".encode()),
                (
                    b"content-type",
                    b"application/x-www-form-urlencoded" if form else b"application/json",
                ),
            ]
            if idempotency_key:
                headers.append((b"idempotency-key", idempotency_key + method.encode()))
            counts.tried("bad requests: bodies, parameters, keys, links")
            statuses, read = await drive(app, method, path, headers)
            assert statuses == [413], (method, path, statuses)
            # 1 MiB and the chunk that crossed it, never more.
            assert read <= MiB + 65536, (method, path, read)

            declared = [*headers, (b"content-length", str(2 * MiB).encode())]
            statuses, read = await drive(app, method, path, declared)
            assert (statuses, read) == ([413], 0), (method, path)
        assert store.count_companies() == 0
    finally:
        store.close()


async def test_a_256_mib_upload_does_not_grow_the_server(sandbox: EmbeddedSandbox):
    """Over a real socket: the sandbox answers 413 and drops the rest; the
    process (server and test alike) does not grow by the body's size."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    async def chunks():
        for _ in range(256 * 16):
            yield b"x" * 65536

    async with api_http(sandbox) as http:
        response = await http.post(
            "/companies",
            content=chunks(),
            headers={"Content-Type": "application/json", "Idempotency-Key": "big"},
        )
    assert_error(response, 413, fragment="larger than 1,048,576 bytes")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 64, grown_mib
    assert sandbox.store.count_companies() == 0


# ------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("sk_test_short", "malformed"),
        ("sk_test_" + "a" * 20 + "!", "malformed"),
        ("pk_test_" + "b" * 24, "malformed"),
        (" sk_test_" + "c" * 10 + "\n", "malformed"),
    ],
)
def test_a_malformed_key_is_refused_by_name_and_masked(key, fragment):
    with pytest.raises(InvalidApiKeyError) as caught:
        Sync2BooksClient(key, "http://127.0.0.1:9/v1")
    text = str(caught.value)
    assert fragment in text and "sk_test_ or sk_live_" in text
    secret = key.strip()[8:]
    assert len(secret) < 8 or secret not in text


async def test_unknown_revoked_and_live_keys_say_which(sandbox: EmbeddedSandbox):
    revoked = sandbox.store.issue_key()
    assert sandbox.store.revoke_key(revoked)
    cases = [
        ("sk_test_" + "Unknown1" * 4, "Unknown or revoked API key"),
        (revoked, "Unknown or revoked API key"),
        ("sk_live_" + "Live1234" * 4, "Live keys cannot be used against a sandbox"),
    ]
    for key, fragment in cases:
        async with Sync2BooksClient(
            key, sandbox.base_url, retry=RetryPolicy(max_retries=0)
        ) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.list_companies()
            assert client.masked_key == f"{key[:8]}…{key[-4:]}"
        error = caught.value
        texts = [str(error), repr(error), error.message]
        assert fragment in str(error) and "S2B_API_KEY" in str(error)
        assert all(key not in text and key[8:] not in text for text in texts), texts
        assert error.status_code == 401 and error.correlation_id


# ------------------------------------------------------------------ links

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


async def test_link_tokens_are_256_bits_unrelated_to_ids(sandbox_http: httpx.AsyncClient):
    tokens: list[str] = []
    for i in range(40):
        company = await create_company(sandbox_http, f"Co {i}")
        authorization = await sandbox_http.post(
            f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"}
        )
        for url, owner in (
            (company["authUrl"], company["id"]),
            (authorization.json()["authUrl"], authorization.json()["id"]),
        ):
            token = url.rsplit("/", 1)[1]
            assert TOKEN.fullmatch(token), token  # 32 random bytes, base64url
            assert owner.replace("-", "") not in token
            tokens.append(token)
    assert len(set(tokens)) == len(tokens) == 80
    assert len({t[:8] for t in tokens}) == 80  # no shared prefixes
    # 80 x 43 characters cover (nearly) all 64 symbols: not a counter or a hash
    # of something small.
    assert len(set("".join(tokens))) >= 60


async def test_a_near_miss_token_opens_nothing(sandbox_http: httpx.AsyncClient):
    company = await create_company(sandbox_http, "Acme")
    auth = (
        await sandbox_http.post(
            f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"}
        )
    ).json()
    async with httpx.AsyncClient(timeout=10.0) as browser:
        for url in (company["authUrl"], auth["authUrl"]):
            origin, token = url.rsplit("/", 1)
            flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
            for guess in (
                token[:-1],
                token + "x",
                flipped,
                token.swapcase(),
                token[:22],
                "",
                "%2e%2e",
                "..%2f" + token,
                token + "%00",
                token.upper() * 10,
            ):
                counts.tried("bad requests: bodies, parameters, keys, links")
                for response in (
                    await browser.get(f"{origin}/{guess}"),
                    await browser.post(f"{origin}/{guess}", data={"decision": "allow"}),
                ):
                    assert response.status_code in (404, 405), (guess, response.status_code)
    status = await sandbox_http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
    assert status.json()["status"] == "PENDING"
    connections = await sandbox_http.get(f"/companies/{company['id']}/connections")
    assert connections.json()["totalResults"] == 0


async def test_a_used_link_changes_nothing_even_after_the_connection_changed(
    sandbox_http: httpx.AsyncClient,
):
    company = await create_company(sandbox_http, "Acme")
    auth = (
        await sandbox_http.post(
            f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"}
        )
    ).json()
    assert (await click(auth["authUrl"], decision="allow")).status_code == 200
    connection_id = (
        await sandbox_http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
    ).json()["connectionId"]
    unlinked = await sandbox_http.patch(
        f"/companies/{company['id']}/connections/{connection_id}", json={"status": "DISCONNECTED"}
    )
    assert unlinked.json()["status"] == "DISCONNECTED"

    # The customer clicks the old link again, in every way.
    for form in ({"decision": "allow"}, {"decision": "deny"}, {}, {"decision": "maybe"}):
        assert (await click(auth["authUrl"], **form)).status_code == 410
    connections = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert [(c["id"], c["status"]) for c in connections["results"]] == [
        (connection_id, "DISCONNECTED")
    ]
    done = await sandbox_http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
    assert done.json()["status"] == "COMPLETED"
    complete = await sandbox_http.post(
        f"/sandbox/authorizations/{auth['id']}/complete", json={"decision": "allow"}
    )
    assert_error(complete, 410, fragment="already been used")


async def test_a_deleted_company_s_links_open_nothing(sandbox_http: httpx.AsyncClient):
    company = await create_company(sandbox_http, "Gone Ltd")
    auth = (
        await sandbox_http.post(
            f"/companies/{company['id']}/connections", json={"integrationKey": "SAGE"}
        )
    ).json()
    assert (await sandbox_http.delete(f"/companies/{company['id']}")).status_code == 204
    for url in (company["authUrl"], auth["authUrl"]):
        assert (await click(url, decision="allow", integrationKey="SAGE")).status_code == 404
    assert (await sandbox_http.get("/companies")).json()["totalResults"] == 0


# --------------------------------------------------------------- loopback


def _an_address_of_this_machine_that_is_not_loopback() -> str | None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent for UDP
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_the_sandbox_listens_on_loopback_only_by_default(tmp_path: Path):
    sandbox = EmbeddedSandbox(tmp_path)
    assert sandbox.host == "127.0.0.1"
    with sandbox:
        assert sandbox.origin.startswith("http://127.0.0.1:")
        port = int(sandbox.origin.rsplit(":", 1)[1])
        other = _an_address_of_this_machine_that_is_not_loopback()
        if other is None:
            pytest.skip("this machine has no address but loopback")
        with pytest.raises(OSError), socket.create_connection((other, port), timeout=2):
            pass


def test_serve_says_so_when_told_to_listen_beyond_loopback(tmp_path: Path, monkeypatch):
    """`serve --host 0.0.0.0` prints a warning. The socket itself is bound to
    127.0.0.1 here, so the test never listens beyond loopback."""
    bound: list[str] = []
    real_bind = runner._bind

    def loopback_bind(host: str, port: int) -> socket.socket:
        bound.append(host)
        return real_bind("127.0.0.1", port)

    monkeypatch.setattr(runner, "_bind", loopback_bind)
    monkeypatch.setattr(runner.gc, "freeze", lambda: None)  # keep this process's GC as it is
    lines: list[str] = []

    def print_line(line: str) -> None:
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            signal.raise_signal(signal.SIGINT)  # handled by serve: it stops

    assert runner.serve("0.0.0.0", 0, tmp_path, print_line=print_line) == 0
    assert bound == ["0.0.0.0"]
    warnings = [line for line in lines if line.startswith("WARNING")]
    assert warnings == [
        "WARNING: listening on 0.0.0.0, so the sandbox is reachable from other machines; "
        "anyone who can reach it can use the key printed above."
    ]
    assert lines.index(warnings[0]) < len(lines) - 1  # before "Press Ctrl-C"


def test_serve_on_loopback_does_not_warn(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(runner.gc, "freeze", lambda: None)
    lines: list[str] = []

    def print_line(line: str) -> None:
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            signal.raise_signal(signal.SIGTERM)

    assert runner.serve("127.0.0.1", 0, tmp_path, print_line=print_line) == 0
    assert lines[0].startswith("Sync2Books sandbox listening on http://127.0.0.1:")
    assert not [line for line in lines if line.startswith("WARNING")]
