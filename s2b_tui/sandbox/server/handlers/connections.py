"""A company's connections: create (an authorization to complete), list,
read, unlink, reauthorize, delete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request

from s2b_tui.sandbox.server.bodies import (
    CreateConnectionRequestV1,
    LinkLifetime,
    UpdateConnectionRequest,
)
from s2b_tui.sandbox.server.context import origin_of, store_of
from s2b_tui.sandbox.server.converters import (
    authorization_fields,
    connection_fields,
    page_fields,
)
from s2b_tui.sandbox.server.queries import PageQuery

Fields = dict[str, Any]


def _lifetime(body: LinkLifetime | CreateConnectionRequestV1 | None) -> timedelta | None:
    """The link lifetime a body asks for; None for the sandbox's default."""
    if isinstance(body, LinkLifetime) and body.expires_in_minutes is not None:
        return timedelta(minutes=body.expires_in_minutes)
    return None


async def create_connection(
    request: Request, company_id: str, body: CreateConnectionRequestV1
) -> Fields:
    record = store_of(request).start_authorization(
        company_id, body.integration_key, lifetime=_lifetime(body)
    )
    return authorization_fields(record, origin_of(request))


async def list_connections(request: Request, company_id: str, query: PageQuery) -> Fields:
    records, total = store_of(request).list_connections(
        company_id, page=query.page, page_size=query.page_size
    )
    return page_fields([connection_fields(r) for r in records], query, total)


async def get_connection(request: Request, company_id: str, connection_id: str) -> Fields:
    return connection_fields(store_of(request).get_connection(company_id, connection_id))


async def unlink_connection(
    request: Request, company_id: str, connection_id: str, body: UpdateConnectionRequest
) -> Fields:
    return connection_fields(store_of(request).disconnect(company_id, connection_id))


async def reauthorize_connection(
    request: Request, company_id: str, connection_id: str, body: LinkLifetime | None = None
) -> Fields:
    record = store_of(request).reauthorize(company_id, connection_id, lifetime=_lifetime(body))
    return authorization_fields(record, origin_of(request))


async def delete_connection(request: Request, company_id: str, connection_id: str) -> None:
    store_of(request).delete_connection(company_id, connection_id)
