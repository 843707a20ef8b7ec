"""What a handler reads from its request: the app's store and faults (set by
`create_app`), and the origin its links start with."""

from __future__ import annotations

from starlette.requests import Request

from s2b_tui.sandbox.server.middleware.faults import FaultState
from s2b_tui.sandbox.store import SandboxStore


def store_of(request: Request) -> SandboxStore:
    return request.app.state.store


def faults_of(request: Request) -> FaultState:
    return request.app.state.faults


def origin_of(request: Request) -> str:
    """`http://HOST:PORT`, as the client reached it: where the Link pages are."""
    return str(request.base_url).rstrip("/")
