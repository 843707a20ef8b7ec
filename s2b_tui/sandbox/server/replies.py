"""What the sandbox sends: its replies as pydantic models, strictly.

These are the server's own, apart from the client's lenient models
(s2b_tui.api.models): a field the server always sends is required here,
and a status is one of its enum's values, so /openapi.json publishes
exactly what comes back. Handlers build replies as plain fields (dicts);
an operation validates them with its reply model once, as a whole.

Two revisions of API.md (see `operations`): a `…V1` model is a reply of the
first revision, and its subclass without the suffix adds what the portfolio
revision ([P]) sends. A first-revision server validates the same fields
with the `…V1` model, which ignores the fields it does not have.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from s2b_tui.api.models import (
    Actor,
    AuthorizationStatus,
    CompanyState,
    ConnectionStatus,
    EventType,
    IntegrationKey,
)


class Reply(BaseModel):
    """camelCase on the wire; fields a model does not have are dropped."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class ConnectionErrorInfo(Reply):
    """Why a connection is in ERROR."""

    code: str
    message: str
    occurred_at: datetime | None


class Connection(Reply):
    id: str
    company_id: str
    integration_key: IntegrationKey
    platform_name: str
    status: ConnectionStatus
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None
    error: ConnectionErrorInfo | None = Field(description="set when `status` is ERROR")


class CompanyV1(Reply):
    id: str
    name: str
    description: str | None
    created_at: datetime
    auth_url: str = Field(description="the company's hosted Link page")
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
    id: str
    company_id: str
    integration_key: IntegrationKey
    platform_name: str
    auth_url: str = Field(description="the consent page; single-use")
    status: AuthorizationStatus
    expires_at: datetime
    connection_id: str | None = Field(description="set once COMPLETED, or for a reconnect")


class Authorization(AuthorizationV1):
    company_name: str
    created_at: datetime


T = TypeVar("T")


class Page(Reply, Generic[T]):
    results: list[T]
    page_number: int
    page_size: int
    total_results: int


class CompanyPage(Page[Company]):
    total_is_lower_bound: bool = Field(
        description="true when `totalResults` is a lower bound (a `query` matching 1,000+)"
    )


class StateCounts(Reply):
    """Companies per connectionState; all five always present."""

    error: int = Field(alias="ERROR")
    connected: int = Field(alias="CONNECTED")
    pending: int = Field(alias="PENDING")
    disconnected: int = Field(alias="DISCONNECTED")
    not_connected: int = Field(alias="NOT_CONNECTED")


class CompanyStats(Reply):
    total_results: int
    by_state: StateCounts
    total_is_lower_bound: bool


class Event(Reply):
    """One change to a company, a connection or an authorization; fields
    that do not apply are null."""

    id: str
    sequence: int
    type: EventType
    occurred_at: datetime
    actor: Actor
    company_id: str
    company_name: str | None
    connection_id: str | None
    authorization_id: str | None
    integration_key: IntegrationKey | None
    from_status: ConnectionStatus | AuthorizationStatus | None
    to_status: ConnectionStatus | AuthorizationStatus | None
    detail: str | None


class EventFeed(Reply):
    """`GET /events`: with `after`, the events after it, oldest first;
    without, the newest first."""

    results: list[Event]
    has_more: bool
    last_sequence: int = Field(description="the newest sequence of the whole feed")


class SeedResult(Reply):
    created: int
