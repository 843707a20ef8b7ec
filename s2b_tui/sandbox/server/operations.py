"""The API's operations: one table, `OPERATIONS`, drives both the routes
and /openapi.json.

Each `Operation` names its method and path, its handler, what it reads (a
query model, a JSON body model) and answers (a reply model, or 204), and the
error statuses it can answer. Its `endpoint` is the one generic Starlette
endpoint: it parses the query and the JSON body, calls the handler with the
path's parameters, and validates and serialises the reply. Handlers call the
store directly: SQLite answers in well under a millisecond for everything
but seeding and reset, which run in a thread.

The table is of API.md's portfolio revision. `operations(portfolio=False)`
gives the first revision's, for a server that must answer as an older one
did: without the operations marked `portfolio` (their routes answer 404, or
405 where the path has other methods), and with each remaining operation's
`first_revision` models (no [P] parameters, body fields or reply fields).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from s2b_tui.api.models import FieldError
from s2b_tui.sandbox.server.bodies import (
    CompleteRequest,
    CreateCompanyRequest,
    CreateCompanyRequestV1,
    CreateConnectionRequest,
    CreateConnectionRequestV1,
    LinkLifetime,
    ResetRequest,
    SeedRequest,
    SeedRequestV1,
    SimulateRequest,
    UpdateCompanyRequest,
    UpdateConnectionRequest,
)
from s2b_tui.sandbox.server.errors import ApiError, field_errors
from s2b_tui.sandbox.server.handlers import (
    authorizations,
    companies,
    connections,
    events,
    integrations,
    sandbox,
)
from s2b_tui.sandbox.server.middleware.faults import FaultSettings
from s2b_tui.sandbox.server.queries import (
    AuthorizationQuery,
    CompanyEventQuery,
    CompanyQuery,
    CompanyQueryV1,
    EventQuery,
    PageQuery,
    StatsQuery,
)
from s2b_tui.sandbox.server.replies import (
    Authorization,
    AuthorizationV1,
    Company,
    CompanyPage,
    CompanyStats,
    CompanyV1,
    Connection,
    Event,
    EventFeed,
    Faults,
    FaultsInForce,
    IntegrationList,
    Page,
    SandboxInfo,
    SeedResult,
)

# Every error status an operation can answer, each with the API.md error body,
# so generated tests (schemathesis) can check that nothing else comes back.
# Injected faults (`PUT /sandbox/faults`) are the one exception: they answer
# with whatever `errorStatus` says.
ERROR_DESCRIPTIONS = {
    400: "The body is not JSON: malformed, or sent with another Content-Type",
    401: "Missing, malformed, unknown or revoked API key, or an sk_live_ key",
    404: "No such company, connection or authorization",
    409: "A conflicting state, or a request with this Idempotency-Key is still in progress",
    410: (
        "Gone: the authorization was already used, was cancelled or has expired; or the "
        "events after that sequence are no longer kept (reload, then follow from "
        "`lastSequence`)"
    ),
    413: "The body is larger than 1 MiB",
    422: "A value is not acceptable; `validation` names each field",
    429: "Too many requests (an injected fault)",
    500: "An internal error",
    503: "The database is busy, or an injected fault",
}
# Any /v1 call: the key is checked, any body is limited, and the server can fail.
ANY_CALL = (401, 413, 429, 500, 503)
# A JSON body is parsed and validated; POST and PATCH take an Idempotency-Key
# (422 when malformed or reused for another request, 409 while in flight).
_JSON_BODY = (400, 409, 422)


Reply = BaseModel | dict[str, Any] | None


@dataclass(frozen=True)
class Operation:
    """One API operation: its route, what its endpoint reads and answers,
    and so what /openapi.json says about it."""

    method: str
    path: str  # under /v1, parameters in braces
    # Returns the reply's fields (validated by `response`), a model, or None (204).
    handler: Callable[..., Awaitable[Reply]]
    tag: str
    response: type[BaseModel] | None  # None: 204 No Content
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True  # False: an empty body is no body (handler gets None)
    errors: tuple[int, ...] = ()  # besides ANY_CALL's
    portfolio: bool = False  # added by the portfolio revision ([P] in API.md)
    # What this operation had in the first revision, where it differs.
    first_revision: Mapping[str, Any] = field(default_factory=dict)

    async def endpoint(self, request: Request) -> Response:
        """Parse, call the handler, serialise (pydantic's JSON, by alias, nulls included)."""
        if "key_digest" not in request.scope.get("state", {}):
            # AuthMiddleware checked the key already: refuse anything that slipped by.
            raise ApiError(401, "Missing API key", headers={"WWW-Authenticate": "Bearer"})
        inputs: dict[str, BaseModel | None] = {}
        if self.query is not None:
            inputs["query"] = _parse("query", self.query, dict(request.query_params))
        if self.body is not None:
            if self.body_required or await request.body():
                inputs["body"] = _parse("body", self.body, await _json_body(request))
            else:
                inputs["body"] = None
        result = await self.handler(request, *request.path_params.values(), **inputs)
        if result is None:
            return Response(status_code=self.status)
        if isinstance(result, dict):
            # Fields: validated as the reply model of this revision, which
            # drops any it does not have; fields left out stay out.
            assert self.response is not None, self.path
            content = self.response.model_validate(result).model_dump_json(
                by_alias=True, exclude_unset=True
            )
        else:
            content = result.model_dump_json(by_alias=True)
        return Response(content, status_code=self.status, media_type="application/json")


OPERATIONS = (
    Operation(
        "GET",
        "/integrations",
        integrations.list_integrations,
        "integrations",
        IntegrationList,
    ),
    Operation(
        "POST",
        "/companies",
        companies.create_company,
        "companies",
        Company,
        status=201,
        body=CreateCompanyRequest,
        errors=_JSON_BODY,
        first_revision={"body": CreateCompanyRequestV1, "response": CompanyV1},
    ),
    Operation(
        "GET",
        "/companies",
        companies.list_companies,
        "companies",
        CompanyPage,
        query=CompanyQuery,
        errors=(422,),
        first_revision={"query": CompanyQueryV1, "response": Page[CompanyV1]},
    ),
    # Before /companies/{companyId}: "stats" is not a company id.
    Operation(
        "GET",
        "/companies/stats",
        companies.company_stats,
        "companies",
        CompanyStats,
        query=StatsQuery,
        errors=(422,),
        portfolio=True,
    ),
    Operation(
        "GET",
        "/companies/{companyId}",
        companies.get_company,
        "companies",
        Company,
        errors=(404,),
        first_revision={"response": CompanyV1},
    ),
    Operation(
        "PATCH",
        "/companies/{companyId}",
        companies.update_company,
        "companies",
        Company,
        body=UpdateCompanyRequest,
        errors=(404, *_JSON_BODY),
        portfolio=True,
    ),
    Operation(
        "POST",
        "/companies/{companyId}/link",
        companies.rotate_company_link,
        "companies",
        Company,
        errors=(404, 409, 422),
        portfolio=True,
    ),
    Operation(
        "DELETE",
        "/companies/{companyId}",
        companies.delete_company,
        "companies",
        None,
        status=204,
        errors=(404,),
    ),
    Operation(
        "GET",
        "/companies/{companyId}/events",
        companies.company_events,
        "events",
        Page[Event],
        query=CompanyEventQuery,
        errors=(404, 422),
        portfolio=True,
    ),
    Operation(
        "POST",
        "/companies/{companyId}/connections",
        connections.create_connection,
        "connections",
        Authorization,
        status=201,
        body=CreateConnectionRequest,
        errors=(404, *_JSON_BODY),
        first_revision={"body": CreateConnectionRequestV1, "response": AuthorizationV1},
    ),
    Operation(
        "GET",
        "/companies/{companyId}/connections",
        connections.list_connections,
        "connections",
        Page[Connection],
        query=PageQuery,
        errors=(404, 422),
    ),
    Operation(
        "GET",
        "/companies/{companyId}/connections/{connectionId}",
        connections.get_connection,
        "connections",
        Connection,
        errors=(404,),
    ),
    Operation(
        "PATCH",
        "/companies/{companyId}/connections/{connectionId}",
        connections.unlink_connection,
        "connections",
        Connection,
        body=UpdateConnectionRequest,
        errors=(404, *_JSON_BODY),
    ),
    Operation(
        "POST",
        "/companies/{companyId}/connections/{connectionId}/authorize",
        connections.reauthorize_connection,
        "connections",
        Authorization,
        status=201,
        body=LinkLifetime,
        body_required=False,
        errors=(404, *_JSON_BODY),
        # The first revision read no body at all.
        first_revision={"body": None, "response": AuthorizationV1, "errors": (404, 409, 422)},
    ),
    Operation(
        "DELETE",
        "/companies/{companyId}/connections/{connectionId}",
        connections.delete_connection,
        "connections",
        None,
        status=204,
        errors=(404,),
    ),
    Operation(
        "GET",
        "/companies/{companyId}/authorizations/{authorizationId}",
        authorizations.get_authorization,
        "connections",
        Authorization,
        errors=(404,),
        first_revision={"response": AuthorizationV1},
    ),
    Operation(
        "DELETE",
        "/companies/{companyId}/authorizations/{authorizationId}",
        authorizations.cancel_authorization,
        "authorizations",
        None,
        status=204,
        errors=(404, 409),
        portfolio=True,
    ),
    Operation(
        "GET",
        "/authorizations",
        authorizations.list_authorizations,
        "authorizations",
        Page[Authorization],
        query=AuthorizationQuery,
        errors=(422,),
        portfolio=True,
    ),
    Operation(
        "GET",
        "/events",
        events.list_events,
        "events",
        EventFeed,
        query=EventQuery,
        errors=(410, 422),
        portfolio=True,
    ),
    Operation(
        "GET",
        "/sandbox",
        sandbox.sandbox_info,
        "sandbox",
        SandboxInfo,
    ),
    Operation(
        "GET",
        "/sandbox/faults",
        sandbox.get_faults,
        "sandbox",
        FaultsInForce,
        portfolio=True,
    ),
    Operation(
        "PUT",
        "/sandbox/faults",
        sandbox.set_faults,
        "sandbox",
        Faults,
        body=FaultSettings,
        errors=(400, 422),
    ),
    Operation(
        "POST",
        "/sandbox/companies/{companyId}/connections/{connectionId}/simulate",
        sandbox.simulate,
        "sandbox",
        Connection,
        body=SimulateRequest,
        errors=(404, *_JSON_BODY),
    ),
    Operation(
        "POST",
        "/sandbox/authorizations/{authorizationId}/complete",
        sandbox.complete_authorization,
        "sandbox",
        Authorization,
        body=CompleteRequest,
        errors=(404, 410, *_JSON_BODY),
        first_revision={"response": AuthorizationV1},
    ),
    Operation(
        "POST",
        "/sandbox/authorizations/{authorizationId}/expire",
        sandbox.expire_authorization,
        "sandbox",
        Authorization,
        errors=(404, 409, 422),
        portfolio=True,
    ),
    Operation(
        "POST",
        "/sandbox/seed",
        sandbox.seed,
        "sandbox",
        SeedResult,
        body=SeedRequest,
        errors=_JSON_BODY,
        first_revision={"body": SeedRequestV1},
    ),
    Operation(
        "POST",
        "/sandbox/reset",
        sandbox.reset,
        "sandbox",
        None,
        status=204,
        body=ResetRequest,
        errors=_JSON_BODY,
        portfolio=True,
    ),
)


def operations(*, portfolio: bool = True) -> tuple[Operation, ...]:
    """The operations of the portfolio revision, or of the first one."""
    if portfolio:
        return OPERATIONS
    return tuple(replace(op, **op.first_revision) for op in OPERATIONS if not op.portfolio)


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
