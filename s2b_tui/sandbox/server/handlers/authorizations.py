"""Authorizations: the hand-offs that create or reconnect a connection."""

from __future__ import annotations

from starlette.requests import Request

from s2b_tui.api.models import Authorization
from s2b_tui.sandbox.server.context import origin_of, store_of
from s2b_tui.sandbox.server.converters import authorization_model


async def get_authorization(
    request: Request, company_id: str, authorization_id: str
) -> Authorization:
    record = store_of(request).get_authorization(company_id, authorization_id)
    return authorization_model(record, origin_of(request))
