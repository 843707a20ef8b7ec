"""Schemathesis against the sandbox's own OpenAPI schema: every operation,
bounded, in-process over ASGI (no socket), with the sandbox's key.

Checks on every reply: no 5xx (`not_a_server_error`), the body matches the
schema (`response_schema_conformance`), the status is one the operation
documents (`status_code_conformance`), and so are the content type and the
documented headers (`Retry-After` on 429 and 503).

Nothing is excluded. Two operations are bounded instead:
- `POST /sandbox/seed` may add up to 1,000,000 companies; generated counts
  above 20 are folded into 1..20, so a run cannot seed millions.
- `PUT /sandbox/faults` is run and checked like any other, then the faults are
  cleared at once: they exist to inject 5xx replies and latency into the
  operations that follow, which would be the sandbox doing what it was told,
  not a server error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from s2b_tui.sandbox import SandboxStore, create_app
from s2b_tui.sandbox.server import SandboxApp
from s2b_tui.sandbox.server.middleware.faults import FaultSettings
from s2b_tui.sandbox.server.operations import OPERATIONS
from s2b_tui.sandbox.store import SEED_MAX
from tests.fuzz import counts

SEED_CAP = 20
# The two bounded operations, as the schema names them (relative to its
# server entry, /v1); the fixture checks the schema still has them.
SEED_PATH = "/sandbox/seed"
FAULTS_PATH = "/sandbox/faults"
# Fuzzed examples per operation, on top of schemathesis's deterministic
# coverage cases (boundaries, wrong types, missing fields, other methods).
MAX_EXAMPLES = 25
# The whole run takes ~6 s on 2 cores. A single example (one request, its
# checks) gets 5 s, a single reply 10 s: a hang fails instead of stalling.
EXAMPLE_DEADLINE = timedelta(seconds=5)
REPLY_TIMEOUT_SECONDS = 10
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]


@dataclass
class Tally:
    """Every /v1 reply the sandbox sent during the run."""

    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def counting(self, app: ASGIApp) -> ASGIApp:
        async def counted_app(scope: Scope, receive: Receive, send: Send) -> None:
            async def counted_send(message: Message) -> None:
                if message["type"] == "http.response.start" and scope["path"].startswith("/v1"):
                    status = message["status"]
                    self.statuses[status] += 1
                    if status >= 500:
                        self.server_errors.append(f"{scope['method']} {scope['path']} -> {status}")
                await send(message)

            await app(scope, receive, counted_send)

        return counted_app


@dataclass
class Target:
    store: SandboxStore
    app: SandboxApp
    tally: Tally


@pytest.fixture
def target(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Target]:
    store = SandboxStore(tmp_path / "sandbox")
    app = create_app(store)
    tally = Tally()
    yield Target(store=store, app=app, tally=tally)
    store.close()
    area = "schemathesis: generated requests, every operation"
    counts.tried(area, tally.requests)
    for _ in tally.server_errors:
        counts.server_error(area)
    statuses = dict(sorted(tally.statuses.items()))
    request.node.user_properties.append(("schemathesis statuses", statuses))
    # Each 5xx has already failed its operation's check; this names them all.
    assert tally.server_errors == [], tally.server_errors
    # A run that sent only a handful per operation tested nothing.
    assert tally.requests >= len(OPERATIONS) * 10, statuses


@pytest.fixture
def sandbox_schema(target: Target):
    document = target.app.openapi()
    assert [server["url"] for server in document["servers"]] == ["/v1"]
    assert {SEED_PATH, FAULTS_PATH} <= set(document["paths"])
    return schemathesis.openapi.from_asgi("/openapi.json", target.tally.counting(target.app))


schema = schemathesis.pytest.from_fixture("sandbox_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=EXAMPLE_DEADLINE,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_and_never_fails(case, target: Target):
    if case.operation.path == SEED_PATH and isinstance(case.body, dict):
        companies = case.body.get("companies")
        if type(companies) is int and SEED_CAP < companies <= SEED_MAX:
            case.body["companies"] = companies % SEED_CAP + 1
    try:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {target.store.api_key}"},
            checks=CHECKS,
            timeout=REPLY_TIMEOUT_SECONDS,
        )
    finally:
        if case.operation.path == FAULTS_PATH:
            target.app.state.faults.settings = FaultSettings()
