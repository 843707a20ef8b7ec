"""The sandbox's own QA calls under /v1/sandbox: what a real API would not
offer (read the sandbox's settings, inject faults, change a connection's
status as the accounting software would, complete an authorization without
its Link page, seed demo data)."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from s2b_tui.api.models import Authorization, Connection, ConnectionStatus, FieldError, SandboxInfo
from s2b_tui.sandbox.server.bodies import CompleteRequest, SeedRequest, SimulateRequest
from s2b_tui.sandbox.server.context import faults_of, origin_of, store_of
from s2b_tui.sandbox.server.converters import authorization_model, connection_model
from s2b_tui.sandbox.server.errors import ApiError
from s2b_tui.sandbox.server.middleware.faults import FaultSettings


class SeedResult(BaseModel):
    created: int


async def sandbox_info(request: Request) -> SandboxInfo:
    return SandboxInfo(
        sandbox=True,
        version=request.app.version,
        link_ttl_seconds=int(store_of(request).link_ttl.total_seconds()),
        faults=faults_of(request).settings.model_dump(mode="json", by_alias=True),
    )


async def set_faults(request: Request, body: FaultSettings) -> FaultSettings:
    faults_of(request).settings = body
    return body


async def simulate(
    request: Request, company_id: str, connection_id: str, body: SimulateRequest
) -> Connection:
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
    return connection_model(record)


async def complete_authorization(
    request: Request, authorization_id: str, body: CompleteRequest
) -> Authorization:
    record = store_of(request).complete_authorization(
        authorization_id, allow=body.decision == "allow"
    )
    return authorization_model(record, origin_of(request))


async def seed(request: Request, body: SeedRequest) -> SeedResult:
    # In a worker thread: 100,000 companies take seconds, and the event loop
    # keeps answering meanwhile.
    created = await run_in_threadpool(
        store_of(request).seed,
        body.companies,
        connections_per_company=body.connections_per_company,
        seed=body.seed,
    )
    return SeedResult(created=created)
