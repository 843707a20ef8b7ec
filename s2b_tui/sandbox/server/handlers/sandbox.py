"""The sandbox's own QA calls under /v1/sandbox: what a real API would not
offer (read the sandbox's settings, inject faults and read them back, change
a connection's status as the accounting software would, complete or expire
an authorization without its Link page, seed demo data, reset)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from s2b_tui.api.models import ConnectionStatus, FieldError
from s2b_tui.sandbox.server.bodies import (
    CompleteRequest,
    ResetRequest,
    SeedRequest,
    SeedRequestV1,
    SimulateRequest,
)
from s2b_tui.sandbox.server.context import faults_of, origin_of, store_of
from s2b_tui.sandbox.server.converters import authorization_fields, connection_fields
from s2b_tui.sandbox.server.errors import ApiError
from s2b_tui.sandbox.server.middleware.faults import FaultSettings

Fields = dict[str, Any]


async def sandbox_info(request: Request) -> Fields:
    return {
        "sandbox": True,
        "version": request.app.version,
        "link_ttl_seconds": int(store_of(request).link_ttl.total_seconds()),
        "faults": dict(faults_of(request).settings),
    }


async def set_faults(request: Request, body: FaultSettings) -> Fields:
    faults_of(request).settings = body
    return dict(body)


async def get_faults(request: Request) -> Fields:
    """The settings while any fault is in force (a delay, or errors still to
    come); `{}` when none is."""
    faults = faults_of(request)
    settings = faults.settings
    if settings.latency_ms == 0 and not faults.errors_due():
        return {}
    return dict(settings)


async def simulate(
    request: Request, company_id: str, connection_id: str, body: SimulateRequest
) -> Fields:
    if body.status != ConnectionStatus.ERROR and (body.error_code or body.message):
        field_name = "errorCode" if body.error_code else "message"
        raise ApiError.invalid(
            [FieldError(field=field_name, message="applies only to status ERROR")]
        )
    record = store_of(request).simulate(
        company_id,
        connection_id,
        body.status,
        error_code=body.error_code,
        error_message=body.message,
    )
    return connection_fields(record)


async def complete_authorization(
    request: Request, authorization_id: str, body: CompleteRequest
) -> Fields:
    """The customer's decision (the store records it as the CUSTOMER's)."""
    record = store_of(request).complete_authorization(
        authorization_id, allow=body.decision == "allow"
    )
    return authorization_fields(record, origin_of(request))


async def expire_authorization(request: Request, authorization_id: str) -> Fields:
    record = store_of(request).expire_authorization(authorization_id)
    return authorization_fields(record, origin_of(request))


async def reset(request: Request, body: ResetRequest) -> None:
    await run_in_threadpool(store_of(request).reset)


async def seed(request: Request, body: SeedRequestV1) -> Fields:
    states = body.states.shares() if isinstance(body, SeedRequest) and body.states else None
    try:
        # In a worker thread: 100,000 companies take seconds, and the event
        # loop keeps answering meanwhile.
        created = await run_in_threadpool(
            store_of(request).seed,
            body.companies,
            connections_per_company=body.connections_per_company,
            seed=body.seed,
            states=states,
        )
    except ValueError as exc:  # a mix the body's schema cannot rule out
        message = str(exc).replace("connections_per_company", "connectionsPerCompany")
        raise ApiError.invalid([FieldError(field="states", message=message)]) from None
    return {"created": created}
