"""The sandbox's HTTP API: API.md implemented with Starlette over `SandboxStore`.

Layers, outermost first (each a plain ASGI middleware):

1. correlation ids on every response, and a JSON 500 for any crash;
2. the 1 MiB body limit (413), enforced while the body streams in;
3. API key check for everything under /v1 (401);
4. injected faults (errors before the handler, latency after it);
5. idempotency (replays, conflicts), stored in SQLite.

Then the routes. Each API operation is one `Operation` in `OPERATIONS`:
one generic endpoint parses its path, query and JSON body (pydantic
models), calls its handler and serialises the reply, and the same table
makes /openapi.json. Handlers call the store directly: SQLite answers in
well under a millisecond for everything but seeding, which runs in a thread.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from s2b_tui import __version__
from s2b_tui.api.models import (
    Authorization,
    Company,
    Connection,
    ErrorBody,
    FieldError,
    IntegrationList,
    Page,
    SandboxInfo,
)
from s2b_tui.sandbox import link_pages
from s2b_tui.sandbox.server.bodies import (
    CompleteRequest,
    CreateCompanyRequest,
    CreateConnectionRequest,
    SeedRequest,
    SimulateRequest,
    UpdateConnectionRequest,
)
from s2b_tui.sandbox.server.errors import (
    HANDLED_EXCEPTIONS,
    ApiError,
    field_errors,
    handle_exception,
)
from s2b_tui.sandbox.server.handlers.authorizations import get_authorization
from s2b_tui.sandbox.server.handlers.companies import (
    create_company,
    delete_company,
    get_company,
    list_companies,
)
from s2b_tui.sandbox.server.handlers.connections import (
    create_connection,
    delete_connection,
    get_connection,
    list_connections,
    reauthorize_connection,
    unlink_connection,
)
from s2b_tui.sandbox.server.handlers.integrations import list_integrations
from s2b_tui.sandbox.server.handlers.sandbox import (
    SeedResult,
    complete_authorization,
    sandbox_info,
    seed,
    set_faults,
    simulate,
)
from s2b_tui.sandbox.server.middleware.auth import AuthMiddleware
from s2b_tui.sandbox.server.middleware.body_limit import BodyLimitMiddleware
from s2b_tui.sandbox.server.middleware.correlation import CorrelationMiddleware
from s2b_tui.sandbox.server.middleware.faults import FaultMiddleware, FaultSettings, FaultState
from s2b_tui.sandbox.server.middleware.idempotency import IDEMPOTENT_METHODS, IdempotencyMiddleware
from s2b_tui.sandbox.server.queries import CompanyQuery, PageQuery
from s2b_tui.sandbox.server.urls import API_PREFIX
from s2b_tui.sandbox.store import SandboxStore

# ------------------------------------------------------------ operations

# Every error status an operation can answer, each with the API.md error body,
# so generated tests (schemathesis) can check that nothing else comes back.
# Injected faults (`PUT /sandbox/faults`) are the one exception: they answer
# with whatever `errorStatus` says.
_ERROR_DESCRIPTIONS = {
    400: "The body is not JSON: malformed, or sent with another Content-Type",
    401: "Missing, malformed, unknown or revoked API key, or an sk_live_ key",
    404: "No such company, connection or authorization",
    409: "A conflicting state, or a request with this Idempotency-Key is still in progress",
    410: "The authorization was already used or has expired",
    413: "The body is larger than 1 MiB",
    422: "A value is not acceptable; `validation` names each field",
    429: "Too many requests (an injected fault)",
    500: "An internal error",
    503: "The database is busy, or an injected fault",
}
# Any /v1 call: the key is checked, any body is limited, and the server can fail.
_ANY_CALL = (401, 413, 429, 500, 503)
# A JSON body is parsed and validated; POST and PATCH take an Idempotency-Key
# (422 when malformed or reused for another request, 409 while in flight).
_JSON_BODY = (400, 409, 422)


@dataclass(frozen=True)
class Operation:
    """One API operation: its route, what its endpoint reads and answers,
    and so what /openapi.json says about it."""

    method: str
    path: str  # under /v1, parameters in braces
    handler: Callable[..., Awaitable[BaseModel | None]]
    tag: str
    response: type[BaseModel] | None  # None: 204 No Content
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()  # besides _ANY_CALL's

    async def endpoint(self, request: Request) -> Response:
        """Parse, call the handler, serialise (pydantic's JSON, by alias, nulls included)."""
        if "key_digest" not in request.scope.get("state", {}):
            # AuthMiddleware checked the key already: refuse anything that slipped by.
            raise ApiError(401, "Missing API key", headers={"WWW-Authenticate": "Bearer"})
        inputs: dict[str, BaseModel] = {}
        if self.query is not None:
            inputs["query"] = _parse("query", self.query, dict(request.query_params))
        if self.body is not None:
            inputs["body"] = _parse("body", self.body, await _json_body(request))
        result = await self.handler(request, *request.path_params.values(), **inputs)
        if result is None:
            return Response(status_code=self.status)
        return Response(
            result.model_dump_json(by_alias=True),
            status_code=self.status,
            media_type="application/json",
        )


OPERATIONS = (
    Operation("GET", "/integrations", list_integrations, "integrations", IntegrationList),
    Operation(
        "POST",
        "/companies",
        create_company,
        "companies",
        Company,
        status=201,
        body=CreateCompanyRequest,
        errors=_JSON_BODY,
    ),
    Operation(
        "GET",
        "/companies",
        list_companies,
        "companies",
        Page[Company],
        query=CompanyQuery,
        errors=(422,),
    ),
    Operation("GET", "/companies/{companyId}", get_company, "companies", Company, errors=(404,)),
    Operation(
        "DELETE",
        "/companies/{companyId}",
        delete_company,
        "companies",
        None,
        status=204,
        errors=(404,),
    ),
    Operation(
        "POST",
        "/companies/{companyId}/connections",
        create_connection,
        "connections",
        Authorization,
        status=201,
        body=CreateConnectionRequest,
        errors=(404, *_JSON_BODY),
    ),
    Operation(
        "GET",
        "/companies/{companyId}/connections",
        list_connections,
        "connections",
        Page[Connection],
        query=PageQuery,
        errors=(404, 422),
    ),
    Operation(
        "GET",
        "/companies/{companyId}/connections/{connectionId}",
        get_connection,
        "connections",
        Connection,
        errors=(404,),
    ),
    Operation(
        "PATCH",
        "/companies/{companyId}/connections/{connectionId}",
        unlink_connection,
        "connections",
        Connection,
        body=UpdateConnectionRequest,
        errors=(404, *_JSON_BODY),
    ),
    Operation(
        "POST",
        "/companies/{companyId}/connections/{connectionId}/authorize",
        reauthorize_connection,
        "connections",
        Authorization,
        status=201,
        errors=(404, 409, 422),
    ),
    Operation(
        "DELETE",
        "/companies/{companyId}/connections/{connectionId}",
        delete_connection,
        "connections",
        None,
        status=204,
        errors=(404,),
    ),
    Operation(
        "GET",
        "/companies/{companyId}/authorizations/{authorizationId}",
        get_authorization,
        "connections",
        Authorization,
        errors=(404,),
    ),
    Operation("GET", "/sandbox", sandbox_info, "sandbox", SandboxInfo),
    Operation(
        "PUT",
        "/sandbox/faults",
        set_faults,
        "sandbox",
        FaultSettings,
        body=FaultSettings,
        errors=(400, 422),
    ),
    Operation(
        "POST",
        "/sandbox/companies/{companyId}/connections/{connectionId}/simulate",
        simulate,
        "sandbox",
        Connection,
        body=SimulateRequest,
        errors=(404, *_JSON_BODY),
    ),
    Operation(
        "POST",
        "/sandbox/authorizations/{authorizationId}/complete",
        complete_authorization,
        "sandbox",
        Authorization,
        body=CompleteRequest,
        errors=(404, 410, *_JSON_BODY),
    ),
    Operation(
        "POST",
        "/sandbox/seed",
        seed,
        "sandbox",
        SeedResult,
        body=SeedRequest,
        errors=_JSON_BODY,
    ),
)


def _parse(where: str, model: type[BaseModel], data: Any) -> BaseModel:
    """`data` (the query or the body) validated by `model`, or a 422."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError.invalid(field_errors(where, exc)) from None


_UNREADABLE_JSON = (
    "Request body could not be read as JSON (nested too deeply, or a number too long)"
)


async def _json_body(request: Request) -> Any:
    """The body, parsed. A body without a Content-Type is read as JSON too,
    as curl -d users expect; an empty one is a missing one."""
    raw = await request.body()  # at most 1 MiB: BodyLimitMiddleware
    if not raw:
        raise ApiError.invalid([FieldError(field="body", message="is required")])
    content_type = request.headers.get("content-type")
    if content_type and not _is_json(content_type):
        raise ApiError(400, "Request body must be JSON (Content-Type: application/json)")
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise ApiError(400, "Request body is not valid JSON") from None
    except (ValueError, RecursionError):  # not UTF-8, 16 or 32; too deep; too long a number
        raise ApiError(400, _UNREADABLE_JSON) from None


def _is_json(content_type: str) -> bool:
    """application/json or application/...+json, whatever its parameters."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.count("/") != 1:
        return False
    main, sub = media_type.split("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


# ================================================================ openapi

_SCHEMAS = "#/components/schemas/{model}"
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Run this request at most once; a retry gets the stored reply.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[ -~]+$"},
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
_API_KEY = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "sk_test_…",
    "description": "The sandbox's key, printed by `s2b-tui sandbox serve`.",
}


def _errors(error_body: dict[str, Any], statuses: tuple[int, ...]) -> dict[str, Any]:
    """OpenAPI `responses` for these error statuses."""
    responses: dict[str, Any] = {}
    for status in sorted(set(statuses)):
        response: dict[str, Any] = {
            "description": _ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": error_body}},
        }
        if status in (429, 503):
            response["headers"] = _RETRY_AFTER
        responses[str(status)] = response
    return responses


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """A query model's fields as OpenAPI parameters; the schemas they refer to
    go into `schemas`."""
    schema = model.model_json_schema(ref_template=_SCHEMAS)
    schemas.update(schema.get("$defs", {}))
    required = schema.get("required", [])
    parameters = []
    for name, field_schema in schema["properties"].items():
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        parameters.append({**parameter, "schema": field_schema})
    return parameters


def openapi_document(*, title: str, version: str, description: str) -> dict[str, Any]:
    """The OpenAPI document of `OPERATIONS` (the Link pages are not in it)."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (op.body, "validation") for op in OPERATIONS if op.body is not None
    ]
    models += [(op.response, "serialization") for op in OPERATIONS if op.response is not None]
    models.append((ErrorBody, "serialization"))
    refs, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template=_SCHEMAS)
    schemas = definitions.get("$defs", {})
    error_body = refs[(ErrorBody, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", op.path)
        ]
        if op.query is not None:
            parameters += _query_parameters(op.query, schemas)
        if op.method in IDEMPOTENT_METHODS:
            parameters.append(_IDEMPOTENCY_KEY)
        success: dict[str, Any] = {"description": "Successful Response"}
        if op.response is not None:
            schema = refs[(op.response, "serialization")]
            success["content"] = {"application/json": {"schema": schema}}
        operation: dict[str, Any] = {
            "tags": [op.tag],
            "summary": op.handler.__name__.replace("_", " ").capitalize(),
            "operationId": op.handler.__name__,
        }
        if parameters:
            operation["parameters"] = parameters
        if op.body is not None:
            schema = refs[(op.body, "validation")]
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
        operation["responses"] = {
            str(op.status): success,
            **_errors(error_body, _ANY_CALL + op.errors),
        }
        operation["security"] = [{"ApiKey": []}]
        paths.setdefault(API_PREFIX + op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"ApiKey": _API_KEY}},
    }


# ================================================================== app


class SandboxApp(Starlette):
    """Starlette, plus the API's version and its OpenAPI document."""

    title = "Sync2Books API (sandbox)"
    description = "The Sync2Books API v1 as the local sandbox implements it."
    version = __version__
    _openapi: dict[str, Any] | None = None

    def openapi(self) -> dict[str, Any]:
        """Made on first use (~10 ms), never while the server starts."""
        if self._openapi is None:
            self._openapi = openapi_document(
                title=self.title, version=self.version, description=self.description
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


def create_app(store: SandboxStore, *, version: str = __version__) -> SandboxApp:
    """The sandbox API over `store`. Faults live in this app object only."""
    app = SandboxApp(
        routes=[
            Route("/openapi.json", _openapi_json),  # GET and HEAD
            *(_route(op.method, API_PREFIX + op.path, op.endpoint) for op in OPERATIONS),
            *(_route(method, path, page) for method, path, page in link_pages.PAGES),
        ],
        exception_handlers=dict.fromkeys(HANDLED_EXCEPTIONS, handle_exception),
    )
    app.version = version
    app.state.store = store
    app.state.faults = FaultState()
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(IdempotencyMiddleware, store=store)
    app.add_middleware(FaultMiddleware, faults=app.state.faults)
    app.add_middleware(AuthMiddleware, store=store)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(CorrelationMiddleware)
    return app
