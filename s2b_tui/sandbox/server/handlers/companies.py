"""Companies: create, list and search, count by state, read, edit, rotate
the company link, delete, and a company's timeline."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from s2b_tui.sandbox.server.bodies import (
    CreateCompanyRequest,
    CreateCompanyRequestV1,
    UpdateCompanyRequest,
)
from s2b_tui.sandbox.server.context import origin_of, store_of
from s2b_tui.sandbox.server.converters import (
    company_fields,
    company_page_fields,
    event_fields,
    page_fields,
)
from s2b_tui.sandbox.server.queries import (
    CompanyEventQuery,
    CompanyQuery,
    CompanyQueryV1,
    StatsQuery,
)
from s2b_tui.sandbox.sql import COUNT_CAP

Fields = dict[str, Any]


async def create_company(request: Request, body: CreateCompanyRequestV1) -> Fields:
    contact_email = body.contact_email if isinstance(body, CreateCompanyRequest) else None
    record = store_of(request).create_company(body.name, body.description, contact_email)
    return company_fields(record, origin_of(request))


async def list_companies(request: Request, query: CompanyQueryV1) -> Fields:
    store = store_of(request)
    if isinstance(query, CompanyQuery):
        # A search counts up to COUNT_CAP matches (then a lower bound); a
        # list without one, filtered by state or name or not, counts exactly.
        page = store.company_page(
            page=query.page,
            page_size=query.page_size,
            query=query.search,
            order_by=query.order_by,
            states=query.states,
            name=query.name,
            count_cap=COUNT_CAP if query.search and query.search.strip() else None,
        )
    else:  # the first revision counts exactly
        page = store.company_page(
            page=query.page,
            page_size=query.page_size,
            query=query.search,
            order_by=query.order_by,
            count_cap=None,
        )
    return company_page_fields(page, query, origin_of(request))


async def company_stats(request: Request, query: StatsQuery) -> Fields:
    by_state, total, lower_bound = store_of(request).company_stats(
        query=query.search, count_cap=COUNT_CAP
    )
    return {"total_results": total, "by_state": by_state, "total_is_lower_bound": lower_bound}


async def get_company(request: Request, company_id: str) -> Fields:
    return company_fields(store_of(request).get_company(company_id), origin_of(request))


async def update_company(request: Request, company_id: str, body: UpdateCompanyRequest) -> Fields:
    record = store_of(request).update_company(company_id, body.changes())
    return company_fields(record, origin_of(request))


async def rotate_company_link(request: Request, company_id: str) -> Fields:
    record = store_of(request).rotate_company_link(company_id)
    return company_fields(record, origin_of(request))


async def delete_company(request: Request, company_id: str) -> None:
    store_of(request).delete_company(company_id)


async def company_events(request: Request, company_id: str, query: CompanyEventQuery) -> Fields:
    events, total = store_of(request).company_events(
        company_id, page=query.page, page_size=query.page_size, types=query.types
    )
    return page_fields([event_fields(e) for e in events], query, total)
