"""The sandbox API as a Starlette app: `create_app` puts the routes of the
operations it serves and the Link pages behind the middleware stack."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from s2b_tui import __version__
from s2b_tui.sandbox import link_pages
from s2b_tui.sandbox.server.errors import HANDLED_EXCEPTIONS, handle_exception
from s2b_tui.sandbox.server.middleware.auth import AuthMiddleware
from s2b_tui.sandbox.server.middleware.body_limit import BodyLimitMiddleware
from s2b_tui.sandbox.server.middleware.correlation import CorrelationMiddleware
from s2b_tui.sandbox.server.middleware.faults import FaultMiddleware, FaultState
from s2b_tui.sandbox.server.middleware.idempotency import IdempotencyMiddleware
from s2b_tui.sandbox.server.openapi import openapi_document
from s2b_tui.sandbox.server.operations import Operation, operations
from s2b_tui.sandbox.server.urls import API_PREFIX
from s2b_tui.sandbox.store import SandboxStore


class SandboxApp(Starlette):
    """Starlette, plus the API's version and its OpenAPI document."""

    title = "Sync2Books API (sandbox)"
    description = "The Sync2Books API v1 as the local sandbox implements it."
    version = __version__
    #: What this app serves: the portfolio revision's operations, or the first's.
    operations: tuple[Operation, ...] = ()
    _openapi: dict[str, Any] | None = None

    def openapi(self) -> dict[str, Any]:
        """Made on first use (~10 ms), never while the server starts."""
        if self._openapi is None:
            self._openapi = openapi_document(
                self.operations,
                title=self.title,
                version=self.version,
                description=self.description,
            )
        return self._openapi


async def _openapi_json(request: Request) -> Response:
    return JSONResponse(request.app.openapi())


def _route(method: str, path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
    """A route for `method` only: Starlette also answers HEAD on a GET route,
    which the sandbox leaves to 405 (it documents no HEAD)."""
    route = Route(path, endpoint, methods=[method])
    route.methods = {method}
    return route


def create_app(
    store: SandboxStore, *, version: str = __version__, portfolio: bool = True
) -> SandboxApp:
    """The sandbox API over `store`. Faults live in this app object only.

    `portfolio=False` serves API.md's first revision only, as a server of
    that revision would answer (for clients that must still work with one):
    no [P] operations, parameters, body fields or reply fields."""
    served = operations(portfolio=portfolio)
    app = SandboxApp(
        routes=[
            Route("/openapi.json", _openapi_json),  # GET and HEAD
            *(_route(op.method, API_PREFIX + op.path, op.endpoint) for op in served),
            *(_route(method, path, page) for method, path, page in link_pages.PAGES),
        ],
        exception_handlers=dict.fromkeys(HANDLED_EXCEPTIONS, handle_exception),
    )
    app.version = version
    app.operations = served
    app.state.store = store
    app.state.faults = FaultState()
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(IdempotencyMiddleware, store=store)
    app.add_middleware(FaultMiddleware, faults=app.state.faults)
    app.add_middleware(AuthMiddleware, store=store)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(CorrelationMiddleware)
    return app
