"""The Sync2Books API: async client, wire models and typed errors.

This package never imports Textual: it is usable from any Python program.
The names below load on first use: a program that needs only the models (the
sandbox) never pays for importing httpx.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s2b_tui.api.client import (
        RequestEvent,
        RetryPolicy,
        Sync2BooksClient,
    )
    from s2b_tui.api.errors import (
        ApiConnectionError,
        ApiTimeoutError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        FeedGoneError,
        FieldProblem,
        GoneError,
        InvalidApiKeyError,
        InvalidResponseError,
        NotFoundError,
        NotOfferedError,
        PermissionDeniedError,
        RateLimitError,
        ReadOnlyError,
        ServerError,
        Sync2BooksError,
        UnprocessableEntityError,
    )
    from s2b_tui.api.events import EventFollower, FeedReset
    from s2b_tui.api.features import Feature, PortfolioFeatures
    from s2b_tui.api.keys import (
        ApiKey,
        ApiMode,
        mask_key,
    )
    from s2b_tui.api.models import (
        INTEGRATION_NAMES,
        Actor,
        Authorization,
        AuthorizationOrder,
        AuthorizationStatus,
        Company,
        CompanyOrder,
        CompanyState,
        CompanyStats,
        Connection,
        ConnectionStatus,
        Event,
        EventFeed,
        EventType,
        Integration,
        IntegrationKey,
        Page,
        SandboxInfo,
    )
    from s2b_tui.api.portfolio import UNSET

_EXPORTS = {
    "Actor": "s2b_tui.api.models",
    "ApiConnectionError": "s2b_tui.api.errors",
    "ApiKey": "s2b_tui.api.keys",
    "ApiMode": "s2b_tui.api.keys",
    "ApiTimeoutError": "s2b_tui.api.errors",
    "AuthenticationError": "s2b_tui.api.errors",
    "Authorization": "s2b_tui.api.models",
    "AuthorizationOrder": "s2b_tui.api.models",
    "AuthorizationStatus": "s2b_tui.api.models",
    "BadRequestError": "s2b_tui.api.errors",
    "Company": "s2b_tui.api.models",
    "CompanyOrder": "s2b_tui.api.models",
    "CompanyState": "s2b_tui.api.models",
    "CompanyStats": "s2b_tui.api.models",
    "ConflictError": "s2b_tui.api.errors",
    "Connection": "s2b_tui.api.models",
    "ConnectionStatus": "s2b_tui.api.models",
    "Event": "s2b_tui.api.models",
    "EventFeed": "s2b_tui.api.models",
    "EventFollower": "s2b_tui.api.events",
    "EventType": "s2b_tui.api.models",
    "Feature": "s2b_tui.api.features",
    "FeedGoneError": "s2b_tui.api.errors",
    "FeedReset": "s2b_tui.api.events",
    "FieldProblem": "s2b_tui.api.errors",
    "GoneError": "s2b_tui.api.errors",
    "INTEGRATION_NAMES": "s2b_tui.api.models",
    "Integration": "s2b_tui.api.models",
    "IntegrationKey": "s2b_tui.api.models",
    "InvalidApiKeyError": "s2b_tui.api.errors",
    "InvalidResponseError": "s2b_tui.api.errors",
    "NotFoundError": "s2b_tui.api.errors",
    "NotOfferedError": "s2b_tui.api.errors",
    "Page": "s2b_tui.api.models",
    "PermissionDeniedError": "s2b_tui.api.errors",
    "PortfolioFeatures": "s2b_tui.api.features",
    "RateLimitError": "s2b_tui.api.errors",
    "ReadOnlyError": "s2b_tui.api.errors",
    "RequestEvent": "s2b_tui.api.client",
    "RetryPolicy": "s2b_tui.api.client",
    "SandboxInfo": "s2b_tui.api.models",
    "ServerError": "s2b_tui.api.errors",
    "Sync2BooksClient": "s2b_tui.api.client",
    "Sync2BooksError": "s2b_tui.api.errors",
    "UNSET": "s2b_tui.api.portfolio",
    "UnprocessableEntityError": "s2b_tui.api.errors",
    "mask_key": "s2b_tui.api.keys",
}

__all__ = [
    "INTEGRATION_NAMES",
    "UNSET",
    "Actor",
    "ApiConnectionError",
    "ApiKey",
    "ApiMode",
    "ApiTimeoutError",
    "AuthenticationError",
    "Authorization",
    "AuthorizationOrder",
    "AuthorizationStatus",
    "BadRequestError",
    "Company",
    "CompanyOrder",
    "CompanyState",
    "CompanyStats",
    "ConflictError",
    "Connection",
    "ConnectionStatus",
    "Event",
    "EventFeed",
    "EventFollower",
    "EventType",
    "Feature",
    "FeedGoneError",
    "FeedReset",
    "FieldProblem",
    "GoneError",
    "Integration",
    "IntegrationKey",
    "InvalidApiKeyError",
    "InvalidResponseError",
    "NotFoundError",
    "NotOfferedError",
    "Page",
    "PermissionDeniedError",
    "PortfolioFeatures",
    "RateLimitError",
    "ReadOnlyError",
    "RequestEvent",
    "RetryPolicy",
    "SandboxInfo",
    "ServerError",
    "Sync2BooksClient",
    "Sync2BooksError",
    "UnprocessableEntityError",
    "mask_key",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
