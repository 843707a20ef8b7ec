"""Correlation ids on every response, and a JSON error for any crash."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from s2b_tui.sandbox.server.errors import (
    ApiError,
    busy_error,
    correlation_id_of,
    error_response,
    is_busy,
)

logger = logging.getLogger("s2b_tui.sandbox")
# No output unless the program configures logging: the embedded sandbox
# shares a terminal with the console (`serve` configures stderr logging).
logger.addHandler(logging.NullHandler())


class CorrelationMiddleware:
    """Gives every response an `X-Correlation-Id`; turns a crash into a JSON 500
    (or a 503 when the database stayed locked)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = correlation_id_of(scope)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0] != b"x-correlation-id"),
                    (b"x-correlation-id", correlation_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Raised outside the routes (by the middleware below) or not handled there.
            if is_busy(exc):
                error = busy_error()
            else:
                logger.exception("unhandled error (correlation id %s)", correlation_id)
                error = ApiError(500, "The sandbox had an internal error")
            if started:
                raise
            await error_response(scope, error)(scope, receive, send_with_id)
