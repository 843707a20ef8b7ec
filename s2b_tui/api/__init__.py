"""The Sync2Books API: async client, wire models and typed errors.

This package never imports Textual: it is usable from any Python program.
"""

from s2b_tui.api.client import RequestEvent, RetryPolicy, Sync2BooksClient
from s2b_tui.api.errors import (
    ApiConnectionError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FieldProblem,
    GoneError,
    InvalidApiKeyError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReadOnlyError,
    ServerError,
    Sync2BooksError,
    UnprocessableEntityError,
)
from s2b_tui.api.keys import ApiKey, ApiMode, mask_key
from s2b_tui.api.models import (
    INTEGRATION_NAMES,
    Authorization,
    AuthorizationStatus,
    Company,
    CompanyOrder,
    Connection,
    ConnectionStatus,
    Integration,
    IntegrationKey,
    Page,
    SandboxInfo,
)

__all__ = [
    "INTEGRATION_NAMES",
    "ApiConnectionError",
    "ApiKey",
    "ApiMode",
    "ApiTimeoutError",
    "AuthenticationError",
    "Authorization",
    "AuthorizationStatus",
    "BadRequestError",
    "Company",
    "CompanyOrder",
    "ConflictError",
    "Connection",
    "ConnectionStatus",
    "FieldProblem",
    "GoneError",
    "Integration",
    "IntegrationKey",
    "InvalidApiKeyError",
    "InvalidResponseError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
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
