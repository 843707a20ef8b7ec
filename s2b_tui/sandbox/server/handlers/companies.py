"""Companies: create, list and search, read, delete."""

from __future__ import annotations

from starlette.requests import Request

from s2b_tui.api.models import Company, FieldError, Page
from s2b_tui.api.validation import has_control_characters
from s2b_tui.sandbox.server.bodies import CreateCompanyRequest
from s2b_tui.sandbox.server.context import origin_of, store_of
from s2b_tui.sandbox.server.converters import company_fields, company_model, page_model
from s2b_tui.sandbox.server.errors import ApiError
from s2b_tui.sandbox.server.queries import CompanyQuery


async def create_company(request: Request, body: CreateCompanyRequest) -> Company:
    record = store_of(request).create_company(body.name, body.description)
    return company_model(record, origin_of(request))


async def list_companies(request: Request, query: CompanyQuery) -> Page[Company]:
    if query.search is not None and has_control_characters(query.search):
        raise ApiError.invalid(
            [FieldError(field="query", message="must not contain control characters")]
        )
    records, total = store_of(request).list_companies(
        page=query.page, page_size=query.page_size, query=query.search, order_by=query.order_by
    )
    origin = origin_of(request)
    return page_model(Page[Company], [company_fields(r, origin) for r in records], query, total)


async def get_company(request: Request, company_id: str) -> Company:
    return company_model(store_of(request).get_company(company_id), origin_of(request))


async def delete_company(request: Request, company_id: str) -> None:
    store_of(request).delete_company(company_id)
