"""A company's connections: create (an authorization to complete), list,
read, unlink, reauthorize, delete."""

from __future__ import annotations

from starlette.requests import Request

from s2b_tui.api.models import Authorization, Connection, Page
from s2b_tui.sandbox.server.bodies import CreateConnectionRequest, UpdateConnectionRequest
from s2b_tui.sandbox.server.context import origin_of, store_of
from s2b_tui.sandbox.server.converters import (
    authorization_model,
    connection_fields,
    connection_model,
    page_model,
)
from s2b_tui.sandbox.server.queries import PageQuery


async def create_connection(
    request: Request, company_id: str, body: CreateConnectionRequest
) -> Authorization:
    record = store_of(request).start_authorization(company_id, body.integration_key)
    return authorization_model(record, origin_of(request))


async def list_connections(request: Request, company_id: str, query: PageQuery) -> Page[Connection]:
    records, total = store_of(request).list_connections(
        company_id, page=query.page, page_size=query.page_size
    )
    return page_model(Page[Connection], [connection_fields(r) for r in records], query, total)


async def get_connection(request: Request, company_id: str, connection_id: str) -> Connection:
    return connection_model(store_of(request).get_connection(company_id, connection_id))


async def unlink_connection(
    request: Request, company_id: str, connection_id: str, body: UpdateConnectionRequest
) -> Connection:
    return connection_model(store_of(request).disconnect(company_id, connection_id))


async def reauthorize_connection(
    request: Request, company_id: str, connection_id: str
) -> Authorization:
    record = store_of(request).reauthorize(company_id, connection_id)
    return authorization_model(record, origin_of(request))


async def delete_connection(request: Request, company_id: str, connection_id: str) -> None:
    store_of(request).delete_connection(company_id, connection_id)
