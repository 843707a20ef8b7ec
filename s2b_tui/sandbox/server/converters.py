"""Store records as reply fields: what a handler returns.

A reply is built as plain fields and validated once, as a whole, by its
operation's reply model (`replies`): a pydantic model per company and per
connection costs twice as much. Fields are those of the portfolio revision;
a first-revision reply model ignores the ones it does not have.
"""

from __future__ import annotations

from typing import Any

from s2b_tui.api.models import INTEGRATION_NAMES, ConnectionStatus
from s2b_tui.sandbox.records import (
    AuthorizationRecord,
    CompanyPage,
    CompanyRecord,
    ConnectionRecord,
    EventRecord,
)
from s2b_tui.sandbox.server.queries import PageQuery


def link(origin: str, token: str) -> str:
    return f"{origin}/link/{token}"


def connection_fields(record: ConnectionRecord) -> dict[str, Any]:
    error = None
    if record.status == ConnectionStatus.ERROR and record.error_code:
        error = {
            "code": record.error_code,
            "message": record.error_message or "",
            "occurred_at": record.error_occurred_at,
        }
    return {
        "id": record.id,
        "company_id": record.company_id,
        "integration_key": record.integration_key,
        "platform_name": INTEGRATION_NAMES.get(record.integration_key, record.integration_key),
        "status": record.status,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "last_sync_at": record.last_sync_at,
        "error": error,
    }


def company_fields(record: CompanyRecord, origin: str) -> dict[str, Any]:
    """A company with its connections."""
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "created_at": record.created_at,
        "auth_url": link(origin, record.link_token),
        "connections": [connection_fields(c) for c in record.connections],
        "contact_email": record.contact_email,
        "connection_state": record.state,
        "state_changed_at": record.state_changed_at or record.created_at,
    }


def authorization_fields(record: AuthorizationRecord, origin: str) -> dict[str, Any]:
    return {
        "id": record.id,
        "company_id": record.company_id,
        "integration_key": record.integration_key,
        "platform_name": INTEGRATION_NAMES.get(record.integration_key, record.integration_key),
        "auth_url": link(origin, record.token),
        "status": record.status,
        "expires_at": record.expires_at,
        "connection_id": record.connection_id,
        "company_name": record.company_name,
        "created_at": record.created_at,
    }


def event_fields(record: EventRecord) -> dict[str, Any]:
    return record._asdict()


def page_fields(results: list[dict[str, Any]], query: PageQuery, total: int) -> dict[str, Any]:
    """The page envelope around `results`."""
    return {
        "results": results,
        "page_number": query.page,
        "page_size": query.page_size,
        "total_results": total,
    }


def company_page_fields(page: CompanyPage, query: PageQuery, origin: str) -> dict[str, Any]:
    fields = page_fields([company_fields(r, origin) for r in page.records], query, page.total)
    fields["total_is_lower_bound"] = page.total_is_lower_bound
    return fields
