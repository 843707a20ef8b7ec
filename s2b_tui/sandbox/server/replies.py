"""What the sandbox sends: its replies as pydantic models, strictly.

These are the server's own, apart from the client's lenient models
(s2b_tui.api.models): a field the server always sends is required here,
one it may send as null is nullable, and a status, state, actor, event type
or integration key is one of its enum's values, so /openapi.json publishes
exactly what comes back. Handlers build replies as plain fields (dicts);
an operation validates them with its reply model once, as a whole.

Two revisions of API.md (see `operations`): a `…V1` model is a reply of the
first revision, and its subclass without the suffix adds what the portfolio
revision ([P]) sends. A first-revision server validates the same fields
with the `…V1` model, which ignores the fields it does not have.

The error bodies (`ErrorBody`, `ValidationErrorBody`) are made by
`errors.error_response`; they are here for /openapi.json, and what the
server answers is checked against them by the schemathesis run
(tests/fuzz/test_schemathesis.py), as every other reply is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.alias_generators import to_camel

from s2b_tui.api.models import (
    Actor,
    AuthorizationStatus,
    CompanyState,
    ConnectionStatus,
    EventType,
    IntegrationKey,
)

#: A correlation id: 32 lower-case hex digits (a UUID4 without its dashes).
CORRELATION_ID_PATTERN = "^[0-9a-f]{32}$"


def _id(description: str | None = None) -> Any:
    """An id: a UUID4 string. (The format is what the schema says; replies
    are not checked for it: the store makes every id.)"""
    return Field(description=description, json_schema_extra={"format": "uuid"})


def _id_or_null(description: str | None = None) -> Any:
    """An id, or null where it does not apply."""

    def amend(schema: dict[str, Any]) -> None:
        for variant in schema.get("anyOf", []):
            if variant.get("type") == "string":
                variant["format"] = "uuid"

    return Field(description=description, json_schema_extra=amend)


def _url(description: str) -> Any:
    return Field(description=description, json_schema_extra={"format": "uri"})


class Reply(BaseModel):
    """camelCase on the wire; fields a model does not have are dropped."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class Integration(Reply):
    key: IntegrationKey
    name: str = Field(description="its display name, e.g. QuickBooks Online")


class IntegrationList(Reply):
    results: list[Integration] = Field(description="all four, always in the same order")


class ConnectionErrorInfo(Reply):
    """Why a connection is in ERROR."""

    code: str = Field(description="e.g. TOKEN_EXPIRED")
    message: str
    occurred_at: datetime | None


class Connection(Reply):
    id: str = _id()
    company_id: str = _id()
    integration_key: IntegrationKey
    platform_name: str
    status: ConnectionStatus
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None
    error: ConnectionErrorInfo | None = Field(description="set when `status` is ERROR")


class CompanyV1(Reply):
    id: str = _id()
    name: str
    description: str | None
    created_at: datetime
    auth_url: str = _url("the company's hosted Link page")
    connections: list[Connection]


class Company(CompanyV1):
    contact_email: str | None
    connection_state: CompanyState = Field(
        description="derived from its connections and authorizations (API.md)"
    )
    state_changed_at: datetime = Field(
        description="when connectionState last took its value (createdAt until then)"
    )


class AuthorizationV1(Reply):
    id: str = _id()
    company_id: str = _id()
    integration_key: IntegrationKey
    platform_name: str
    auth_url: str = _url("the consent page; single-use")
    status: AuthorizationStatus = Field(
        description="a PENDING one past `expiresAt` is read as EXPIRED"
    )
    expires_at: datetime
    connection_id: str | None = _id_or_null("set once COMPLETED, or for a reconnect")


class Authorization(AuthorizationV1):
    company_name: str
    created_at: datetime


T = TypeVar("T")


class Page(Reply, Generic[T]):
    results: list[T]
    page_number: int = Field(ge=1)
    page_size: int = Field(ge=1)
    total_results: int = Field(ge=0)


class CompanyPage(Page[Company]):
    total_is_lower_bound: bool = Field(
        description="true when `totalResults` is a lower bound (a `query` matching 1,000+)"
    )


class StateCounts(Reply):
    """Companies per connectionState; all five always present."""

    error: int = Field(alias="ERROR", ge=0)
    connected: int = Field(alias="CONNECTED", ge=0)
    pending: int = Field(alias="PENDING", ge=0)
    disconnected: int = Field(alias="DISCONNECTED", ge=0)
    not_connected: int = Field(alias="NOT_CONNECTED", ge=0)


class CompanyStats(Reply):
    total_results: int = Field(ge=0)
    by_state: StateCounts
    total_is_lower_bound: bool = Field(
        description="true when the counts are lower bounds (a `query` matching 1,000+)"
    )


class Event(Reply):
    """One change to a company, a connection or an authorization; fields
    that do not apply are null."""

    id: str = _id()
    sequence: int = Field(ge=1, description="grows with every event (gaps allowed)")
    type: EventType = Field(
        description=(
            "the types this server records; API.md asks clients to ignore types "
            "they do not know, as a later server may add some"
        )
    )
    occurred_at: datetime
    actor: Actor
    company_id: str = _id()
    company_name: str | None
    connection_id: str | None = _id_or_null()
    authorization_id: str | None = _id_or_null()
    integration_key: IntegrationKey | None
    from_status: ConnectionStatus | AuthorizationStatus | None = Field(
        description="a connection's or an authorization's status before the change"
    )
    to_status: ConnectionStatus | AuthorizationStatus | None = Field(description="and after it")
    detail: str | None = Field(description="a one-line human summary")


class EventFeed(Reply):
    """`GET /events`: with `after`, the events after it, oldest first;
    without, the newest first."""

    results: list[Event]
    has_more: bool
    last_sequence: int = Field(ge=0, description="the newest sequence of the whole feed")


class SeedResult(Reply):
    created: int = Field(ge=0)


class Faults(Reply):
    """The injected faults of this server process (`PUT /sandbox/faults`)."""

    latency_ms: int = Field(ge=0, description="delay added to each reply")
    error_rate: float = Field(ge=0, le=1, description="share of calls that fail, 0 to 1")
    error_status: int = Field(ge=400, le=599, description="status of injected errors")
    path_prefix: str = Field(description="only paths under /v1 that start with this")
    retry_after: int = Field(ge=0, description="Retry-After of injected 429 and 503")
    error_count: int | None = Field(
        ge=0, description="injected errors still to come (null: no limit)"
    )


class NoFaults(Reply):
    """`{}`: no fault is in force."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"maxProperties": 0})


class FaultsInForce(RootModel[Faults | NoFaults]):
    """`GET /sandbox/faults`: the faults in force, or `{}` when none is."""


class SandboxInfo(Reply):
    """`GET /sandbox`: present only on a sandbox."""

    sandbox: bool = Field(description="always true")
    version: str = Field(description="the sandbox's version")
    link_ttl_seconds: int = Field(ge=0, description="the default lifetime of an authorization link")
    faults: Faults = Field(description="the fault settings, in force or not")


class FieldError(Reply):
    field: str = Field(description="the body field, query parameter or header")
    message: str


class ErrorBody(Reply):
    """The error body every non-2xx reply carries (API.md, Errors)."""

    status_code: int = Field(ge=400, le=599, description="the reply's status")
    error: str = Field(description="a sentence saying what is wrong")
    correlation_id: str = Field(
        pattern=CORRELATION_ID_PATTERN,
        description=(
            "the X-Correlation-Id of the request that made this reply (an idempotent "
            "replay repeats the first request's)"
        ),
    )
    can_be_retried: bool


class ValidationErrorBody(ErrorBody):
    """A 422's error body: `validation` names each field that is wrong."""

    validation: list[FieldError] = Field(min_length=1)
