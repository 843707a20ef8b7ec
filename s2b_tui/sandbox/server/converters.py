"""Store records as API models: what a handler returns.

A reply is built as plain fields and validated once, as a whole: a pydantic
model per company and per connection costs twice as much. So a list is made
of `..._fields` dicts and validated by `page_model`; a single record goes
through its `..._model`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from s2b_tui.api.models import (
    INTEGRATION_NAMES,
    Authorization,
    Company,
    Connection,
    ConnectionStatus,
    Page,
)
from s2b_tui.sandbox.records import AuthorizationRecord, CompanyRecord, ConnectionRecord
from s2b_tui.sandbox.server.queries import PageQuery


def link(origin: str, token: str) -> str:
    return f"{origin}/link/{token}"


def connection_fields(record: ConnectionRecord) -> dict[str, Any]:
    """A `Connection`'s fields, for validation."""
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
    """A `Company`'s fields, with its connections, for validation."""
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "created_at": record.created_at,
        "auth_url": link(origin, record.link_token),
        "connections": [connection_fields(c) for c in record.connections],
    }


def connection_model(record: ConnectionRecord) -> Connection:
    return Connection.model_validate(connection_fields(record))


def company_model(record: CompanyRecord, origin: str) -> Company:
    return Company.model_validate(company_fields(record, origin))


def authorization_model(record: AuthorizationRecord, origin: str) -> Authorization:
    return Authorization(
        id=record.id,
        company_id=record.company_id,
        integration_key=record.integration_key,
        platform_name=INTEGRATION_NAMES.get(record.integration_key, record.integration_key),
        auth_url=link(origin, record.token),
        status=record.status,
        expires_at=record.expires_at,
        connection_id=record.connection_id,
    )


_PageT = TypeVar("_PageT", bound=Page)


def page_model(page: type[_PageT], results: list[dict], query: PageQuery, total: int) -> _PageT:
    """A `Page[...]` of `results` (plain fields), validated as a whole."""
    return page.model_validate(
        {
            "results": results,
            "page_number": query.page,
            "page_size": query.page_size,
            "total_results": total,
        }
    )
