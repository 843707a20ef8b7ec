"""The request body limit: 413 before a byte too many is read."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from s2b_tui.sandbox.server.errors import ApiError, error_response

MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """Raised from `receive`; `BodyLimitMiddleware` answers it with a 413."""


def _too_large(limit: int = MAX_BODY_BYTES) -> ApiError:
    return ApiError(413, f"Request body is larger than {limit:,} bytes")


class BodyLimitMiddleware:
    """413 for bodies over `limit` bytes, by Content-Length or, for chunked
    uploads, by counting: nothing ever reads more than `limit` + one chunk."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = _too_large(self.limit)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await error_response(scope, too_large)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await error_response(scope, too_large)(scope, receive, send)
