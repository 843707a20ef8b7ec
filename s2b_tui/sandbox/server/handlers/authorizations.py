"""Authorizations: the hand-offs (links sent to customers) that create or
reconnect a connection; read one, list them across companies, cancel one."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from s2b_tui.sandbox.server.context import origin_of, store_of
from s2b_tui.sandbox.server.converters import authorization_fields, page_fields
from s2b_tui.sandbox.server.queries import AuthorizationQuery

Fields = dict[str, Any]


async def get_authorization(request: Request, company_id: str, authorization_id: str) -> Fields:
    record = store_of(request).get_authorization(company_id, authorization_id)
    return authorization_fields(record, origin_of(request))


async def list_authorizations(request: Request, query: AuthorizationQuery) -> Fields:
    records, total = store_of(request).list_authorizations(
        statuses=query.statuses,
        company_id=query.company_id,
        order_by=query.order_by,
        page=query.page,
        page_size=query.page_size,
    )
    origin = origin_of(request)
    return page_fields([authorization_fields(r, origin) for r in records], query, total)


async def cancel_authorization(request: Request, company_id: str, authorization_id: str) -> None:
    store_of(request).cancel_authorization(company_id, authorization_id)
