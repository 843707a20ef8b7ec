"""What the store hands out and how it refuses: records of rows (immutable,
no behaviour), idempotency outcomes, Link page targets, and the `StoreError`
refusals, each carrying a sentence for a person.

No SQLite here: `SandboxStore` builds these from its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from s2b_tui.api.models import INTEGRATION_NAMES, CompanyState

# ---------------------------------------------------------------- errors


class StoreError(Exception):
    """Base of the store's refusals; the message is a sentence for a person."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


class Gone(StoreError):
    """A link that was used or has expired."""


# --------------------------------------------------------------- records


# Records of rows read in bulk (a page of companies, a 500-connection table)
# are named tuples: immutable like a frozen dataclass, made five times faster.


class ConnectionRecord(NamedTuple):
    id: str
    company_id: str
    integration_key: str
    status: str
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None
    error_code: str | None
    error_message: str | None
    error_occurred_at: datetime | None


class CompanyRecord(NamedTuple):
    id: str
    name: str
    description: str | None
    created_at: datetime
    link_token: str
    connections: tuple[ConnectionRecord, ...] = ()
    contact_email: str | None = None
    state: str = CompanyState.NOT_CONNECTED
    state_changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationRecord:
    id: str
    company_id: str
    integration_key: str
    connection_id: str | None
    #: PENDING, COMPLETED, DECLINED, CANCELLED, or EXPIRED (also when
    #: PENDING past `expires_at`).
    status: str
    token: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    company_name: str = ""


class EventRecord(NamedTuple):
    sequence: int
    id: str
    type: str
    occurred_at: datetime
    actor: str
    company_id: str
    company_name: str | None
    connection_id: str | None
    authorization_id: str | None
    integration_key: str | None
    from_status: str | None
    to_status: str | None
    detail: str | None


class CompanyPage(NamedTuple):
    """A page of companies; `total` is a lower bound when `total_is_lower_bound`."""

    records: list[CompanyRecord]
    total: int
    total_is_lower_bound: bool = False


class EventFeed(NamedTuple):
    """`GET /events`: the events, whether more follow, the feed's newest sequence."""

    events: list[EventRecord]
    has_more: bool
    last_sequence: int


class IdempotencyState(StrEnum):
    NEW = "new"  # the caller runs the request, then finish() or abandon()
    REPLAY = "replay"  # the stored reply is in `status`, `content_type`, `body`
    IN_FLIGHT = "in_flight"  # the first request with this key has not finished
    MISMATCH = "mismatch"  # the key was used for a different request


@dataclass(frozen=True, slots=True)
class IdempotencyOutcome:
    state: IdempotencyState
    status: int | None = None
    content_type: str | None = None
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What a Link page token opens: a company page, or an authorization's
    consent page (then `authorization` is set)."""

    company: CompanyRecord
    authorization: AuthorizationRecord | None = None


# ------------------------------------------------------ connection errors

#: The error code of a connection put into ERROR without one.
DEFAULT_ERROR_CODE = "TOKEN_EXPIRED"


def default_error_message(integration_key: str, code: str) -> str:
    platform = INTEGRATION_NAMES.get(integration_key, integration_key)
    if code == DEFAULT_ERROR_CODE:
        return f"The {platform} access token expired. Reconnect to resume syncing."
    return f"{platform} reported {code}. Reconnect to resume syncing."
