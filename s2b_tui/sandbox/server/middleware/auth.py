"""The API key check of every /v1 request."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from s2b_tui.api.keys import KEY_PATTERN
from s2b_tui.sandbox.server.errors import ApiError, error_response
from s2b_tui.sandbox.server.urls import is_api_path
from s2b_tui.sandbox.store import SandboxStore, key_digest


class AuthMiddleware:
    """Checks `Authorization: Bearer <key>` for every /v1 request and puts
    the key's digest in the scope state for idempotency. The key itself is
    never logged or echoed."""

    def __init__(self, app: ASGIApp, store: SandboxStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        key = self._valid_key(dict(scope["headers"]).get(b"authorization"))
        if isinstance(key, ApiError):
            await error_response(scope, key)(scope, receive, send)
            return
        scope.setdefault("state", {})["key_digest"] = key_digest(key)
        await self.app(scope, receive, send)

    def _valid_key(self, header: bytes | None) -> str | ApiError:
        """The key of an `Authorization` header, or the 401 refusing it."""

        def refuse(message: str) -> ApiError:
            return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})

        if not header:
            return refuse(
                "Missing API key: send the header Authorization: Bearer sk_test_… "
                "(`s2b-tui sandbox serve` prints the key)"
            )
        parts = header.decode("latin-1").split()
        if len(parts) != 2 or parts[0].lower() != "bearer" or not KEY_PATTERN.fullmatch(parts[1]):
            return refuse(
                "Malformed API key: expected Authorization: Bearer followed by sk_test_ "
                "and at least 16 letters or digits"
            )
        key = parts[1]
        if key.startswith("sk_live_"):
            return refuse(
                "Live keys cannot be used against a sandbox: use the sandbox's sk_test_ key, "
                "not an sk_live_ one"
            )
        if not self.store.check_key(key):
            return refuse(
                "Unknown or revoked API key: this sandbox did not issue it, or it was revoked"
            )
        return key
