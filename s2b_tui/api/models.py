"""Wire models of the Sync2Books API v1 (see API.md).

camelCase on the wire, snake_case in Python. Parsing is lenient where a newer
server may legitimately send more (unknown fields are ignored, an unknown
status or integration key is kept as a plain string) and strict where the
console cannot work without a value (ids, names, timestamps).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """Base of every API model: camelCase aliases, extra fields ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )

    def to_wire(self) -> dict:
        """The JSON-ready dict this model is on the wire."""
        return self.model_dump(mode="json", by_alias=True)


class IntegrationKey(StrEnum):
    QUICKBOOKS = "QUICKBOOKS"
    QUICKBOOKS_DESKTOP = "QUICKBOOKS_DESKTOP"
    XERO = "XERO"
    SAGE = "SAGE"


#: Display names of the four integrations, in the order the API lists them.
INTEGRATION_NAMES: dict[str, str] = {
    IntegrationKey.QUICKBOOKS: "QuickBooks Online",
    IntegrationKey.QUICKBOOKS_DESKTOP: "QuickBooks Desktop",
    IntegrationKey.XERO: "Xero",
    IntegrationKey.SAGE: "Sage",
}


class ConnectionStatus(StrEnum):
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"
    ERROR = "ERROR"


class AuthorizationStatus(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class CompanyState(StrEnum):
    """A company's connectionState (portfolio revision), derived by the
    server from its connections and authorizations; first rule wins."""

    ERROR = "ERROR"
    CONNECTED = "CONNECTED"
    PENDING = "PENDING"
    DISCONNECTED = "DISCONNECTED"
    NOT_CONNECTED = "NOT_CONNECTED"


class Actor(StrEnum):
    """Who caused an event: the key's holder, the customer on a Link page,
    or the accounting software."""

    API = "API"
    CUSTOMER = "CUSTOMER"
    PLATFORM = "PLATFORM"


class EventType(StrEnum):
    COMPANY_CREATED = "company.created"
    COMPANY_UPDATED = "company.updated"
    COMPANY_DELETED = "company.deleted"
    AUTHORIZATION_CREATED = "authorization.created"
    AUTHORIZATION_COMPLETED = "authorization.completed"
    AUTHORIZATION_DECLINED = "authorization.declined"
    AUTHORIZATION_EXPIRED = "authorization.expired"
    AUTHORIZATION_CANCELLED = "authorization.cancelled"
    CONNECTION_CONNECTED = "connection.connected"
    CONNECTION_RECONNECTED = "connection.reconnected"
    CONNECTION_RECOVERED = "connection.recovered"
    CONNECTION_DISCONNECTED = "connection.disconnected"
    CONNECTION_FAILED = "connection.failed"
    CONNECTION_DELETED = "connection.deleted"


class CompanyOrder(StrEnum):
    NAME = "name"
    NAME_DESC = "-name"
    CREATED = "createdAt"
    CREATED_DESC = "-createdAt"
    STATE_CHANGED = "stateChangedAt"
    STATE_CHANGED_DESC = "-stateChangedAt"


# A value from a newer server that this client does not know yet stays a str.
KeyOrStr = Annotated[IntegrationKey | str, Field(union_mode="left_to_right")]
ConnectionStatusOrStr = Annotated[ConnectionStatus | str, Field(union_mode="left_to_right")]
AuthorizationStatusOrStr = Annotated[AuthorizationStatus | str, Field(union_mode="left_to_right")]
CompanyStateOrStr = Annotated[CompanyState | str, Field(union_mode="left_to_right")]
EventTypeOrStr = Annotated[EventType | str, Field(union_mode="left_to_right")]
ActorOrStr = Annotated[Actor | str, Field(union_mode="left_to_right")]


class Integration(WireModel):
    key: KeyOrStr
    name: str


class IntegrationList(WireModel):
    results: list[Integration]


class ConnectionErrorInfo(WireModel):
    """Why a connection is in ERROR (named so as not to shadow the builtin)."""

    code: str
    message: str = ""
    occurred_at: datetime | None = None


class Connection(WireModel):
    id: str
    company_id: str
    integration_key: KeyOrStr
    platform_name: str = ""
    status: ConnectionStatusOrStr
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None = None
    error: ConnectionErrorInfo | None = None

    @property
    def is_active(self) -> bool:
        """CONNECTED or ERROR: the one per integration a company may have."""
        return self.status in (ConnectionStatus.CONNECTED, ConnectionStatus.ERROR)


class Company(WireModel):
    id: str
    name: str
    description: str | None = None
    created_at: datetime
    auth_url: str | None = None
    connections: list[Connection] = Field(default_factory=list)
    # Portfolio revision: absent (None) in a first-revision server's replies.
    contact_email: str | None = None
    connection_state: CompanyStateOrStr | None = None
    state_changed_at: datetime | None = None

    def status_counts(self) -> dict[str, int]:
        """Connections per status: connected, error, disconnected, then any other."""
        counts = Counter(str(c.status) for c in self.connections)
        return {status: counts[status] for status in sorted(counts, key=_status_rank)}


_STATUS_ORDER = (ConnectionStatus.CONNECTED, ConnectionStatus.ERROR, ConnectionStatus.DISCONNECTED)


def _status_rank(status: str) -> tuple[int, str]:
    known = [s.value for s in _STATUS_ORDER]
    return (known.index(status) if status in known else len(known), status)


class Authorization(WireModel):
    id: str
    company_id: str
    integration_key: KeyOrStr
    platform_name: str = ""
    auth_url: str
    status: AuthorizationStatusOrStr
    expires_at: datetime | None = None
    connection_id: str | None = None
    # Portfolio revision: absent (None) in a first-revision server's replies.
    company_name: str | None = None
    created_at: datetime | None = None


T = TypeVar("T")


class Page(WireModel, Generic[T]):
    results: list[T]
    page_number: int = 1
    page_size: int = 50
    total_results: int = 0
    # Portfolio revision: `total_results` is at least this many, not exact.
    total_is_lower_bound: bool = False

    @property
    def total_pages(self) -> int:
        if self.page_size <= 0:
            return 1
        return max(1, -(-self.total_results // self.page_size))


class FieldError(WireModel):
    field: str
    message: str


class ErrorBody(WireModel):
    """The error body every non-2xx reply carries (API.md, Errors)."""

    status_code: int
    error: str
    correlation_id: str | None = None
    can_be_retried: bool = False
    validation: list[FieldError] | None = None


class SeedResult(WireModel):
    """`POST /sandbox/seed`: how many companies were added."""

    created: int


class SandboxInfo(WireModel):
    """`GET /sandbox`: present only on a sandbox."""

    sandbox: bool
    version: str | None = None
    link_ttl_seconds: int | None = None
    faults: dict | None = None


# ======================================================= portfolio revision


class AuthorizationOrder(StrEnum):
    EXPIRES = "expiresAt"
    CREATED_DESC = "-createdAt"


class CompanyStats(WireModel):
    """`GET /companies/stats`: companies per connectionState. A state this
    client does not know yet is kept under its own name."""

    total_results: int
    by_state: dict[str, int]
    total_is_lower_bound: bool = False

    def count(self, state: CompanyState | str) -> int:
        return self.by_state.get(str(state), 0)


class Event(WireModel):
    """One change to a company, a connection or an authorization. `type` and
    `actor` of a newer server stay plain strings (callers ignore types they
    do not know); fields that do not apply are None."""

    id: str
    sequence: int
    type: EventTypeOrStr
    occurred_at: datetime
    actor: ActorOrStr | None = None
    company_id: str | None = None
    company_name: str | None = None
    connection_id: str | None = None
    authorization_id: str | None = None
    integration_key: KeyOrStr | None = None
    from_status: str | None = None
    to_status: str | None = None
    detail: str | None = None

    @property
    def is_known(self) -> bool:
        """Of a type this client knows (the feed's other types are to be ignored)."""
        return isinstance(self.type, EventType)


class EventFeed(WireModel):
    """`GET /events`: with `after`, the events after it, oldest first; without,
    the newest first. `last_sequence` is the newest of the whole feed."""

    results: list[Event]
    has_more: bool = False
    last_sequence: int
