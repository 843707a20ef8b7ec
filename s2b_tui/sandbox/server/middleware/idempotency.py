"""Idempotent POST and PATCH: one run per `Idempotency-Key`, replies stored in SQLite."""

from __future__ import annotations

import hashlib

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from s2b_tui.api.models import FieldError
from s2b_tui.api.validation import idempotency_key_problem
from s2b_tui.sandbox.records import IdempotencyState
from s2b_tui.sandbox.server.errors import ApiError, error_response
from s2b_tui.sandbox.store import SandboxStore

IDEMPOTENT_METHODS = ("POST", "PATCH")


class IdempotencyMiddleware:
    """API.md, Idempotency: POST and PATCH with an `Idempotency-Key` run once
    per (API key, idempotency key); later tries get the stored reply."""

    def __init__(self, app: ASGIApp, store: SandboxStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key_bytes = None
        if scope["type"] == "http" and scope["method"] in IDEMPOTENT_METHODS:
            key_bytes = dict(scope["headers"]).get(b"idempotency-key")
        # Only authenticated API calls get here with a key digest.
        if key_bytes is None or "key_digest" not in scope.get("state", {}):
            await self.app(scope, receive, send)
            return
        key = key_bytes.decode("latin-1")
        problem = idempotency_key_problem(key)
        if problem is not None:
            error = ApiError.invalid([FieldError(field="Idempotency-Key", message=problem)])
            await error_response(scope, error)(scope, receive, send)
            return

        body = await _read_body(receive)
        owner = scope["state"]["key_digest"]
        outcome = self.store.idempotency_begin(
            owner, key, scope["method"], scope["path"], hashlib.sha256(body).hexdigest()
        )
        if outcome.state is IdempotencyState.REPLAY:
            assert outcome.status is not None and outcome.body is not None
            replay = Response(
                outcome.body,
                status_code=outcome.status,
                media_type=outcome.content_type,
                headers={"Idempotent-Replayed": "true"},
            )
            await replay(scope, receive, send)
            return
        if outcome.state is not IdempotencyState.NEW:
            error = (
                ApiError(
                    409,
                    "A request with this Idempotency-Key is still in progress; retry shortly",
                    retryable=True,
                )
                if outcome.state is IdempotencyState.IN_FLIGHT
                else ApiError.invalid(
                    [
                        FieldError(
                            field="Idempotency-Key",
                            message="was already used for a different request",
                        )
                    ]
                )
            )
            await error_response(scope, error)(scope, receive, send)
            return

        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, _replaying(body, receive), capture)
        except BaseException:
            self.store.idempotency_abandon(owner, key)
            raise
        status = start["status"]
        reply = b"".join(chunks)
        if status < 500:
            content_type = dict(start.get("headers", ())).get(b"content-type", b"").decode()
            self.store.idempotency_finish(owner, key, status, content_type, reply)
        else:
            self.store.idempotency_abandon(owner, key)  # a retry must run it again
        await send(start)
        await send({"type": "http.response.body", "body": reply})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands out `body` once, then defers to the real one."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
