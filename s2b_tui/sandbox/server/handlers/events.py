"""The events feed: every change to a company, a connection or an
authorization, across the portfolio. (A company's timeline is with the
companies.)"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from s2b_tui.sandbox.server.context import store_of
from s2b_tui.sandbox.server.converters import event_fields
from s2b_tui.sandbox.server.queries import EventQuery


async def list_events(request: Request, query: EventQuery) -> dict[str, Any]:
    feed = store_of(request).list_events(
        after=query.after,
        company_id=query.company_id,
        types=query.types,
        page_size=query.page_size,
    )
    return {
        "results": [event_fields(e) for e in feed.events],
        "has_more": feed.has_more,
        "last_sequence": feed.last_sequence,
    }
