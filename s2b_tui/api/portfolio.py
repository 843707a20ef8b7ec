"""The calls of API v1's portfolio revision ([P] in API.md).

`PortfolioCalls` is a base of `Sync2BooksClient`, and `SandboxPortfolioCalls`
of its `sandbox` controls: their methods are the client's. Each [P] call that
a server of the first revision lacks raises `NotOfferedError` naming the
feature, never a bare 404; a [P] parameter of a first-revision endpoint (which
such a server would ignore or refuse) is sent only once the client knows the
server offers it, and is refused before sending otherwise.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel

from s2b_tui.api.errors import (
    FeedGoneError,
    GoneError,
    NotOfferedError,
    ReadOnlyError,
    Sync2BooksError,
)
from s2b_tui.api.events import EventFollower
from s2b_tui.api.features import (
    ALWAYS_NOT_OFFERED,
    FEATURE_DESCRIPTIONS,
    NOT_OFFERED_STATUSES,
    Feature,
    FeatureProbe,
    PortfolioFeatures,
)
from s2b_tui.api.models import (
    Authorization,
    AuthorizationOrder,
    AuthorizationStatus,
    Company,
    CompanyState,
    CompanyStats,
    Event,
    EventFeed,
    EventType,
    Page,
)
from s2b_tui.api.wire import segment, walk_pages

if TYPE_CHECKING:
    from s2b_tui.api.client import Sync2BooksClient
    from s2b_tui.api.wire import Reply

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


#: "Not given": leaves a field of `update_company` as it is (None clears it).
UNSET: Literal[_Unset.UNSET] = _Unset.UNSET

#: A comma list on the wire: one value, or several.
Values = str | Iterable[str]


def comma_list(values: Values | None) -> str | None:
    """`["ERROR", "PENDING"]` → `"ERROR,PENDING"`; None or nothing → None."""
    if values is None:
        return None
    if isinstance(values, str):
        return values or None
    joined = ",".join(str(value) for value in values)
    return joined or None


class PortfolioCalls:
    """The client's [P] calls, its feature record and its events follower."""

    if TYPE_CHECKING:
        read_only: bool
        _sleep: Callable[[float], Awaitable[None]]
        _rng: random.Random

        async def _request(
            self,
            method: str,
            path: str,
            *,
            params: dict[str, Any] | None = None,
            json_body: Any = None,
            idempotency_key: str | None = None,
        ) -> Reply: ...

        def _parse(self, model: type[ModelT], reply: Reply) -> ModelT: ...

    # -- what the server offers ----------------------------------------------

    @cached_property
    def _features(self) -> FeatureProbe:
        async def get(path: str, params: dict[str, Any] | None) -> None:
            await self._request("GET", path, params=params)

        return FeatureProbe(get)

    async def portfolio_features(self, *, refresh: bool = False) -> PortfolioFeatures:
        """Which [P] features the server offers; probed once (a few cheap
        reads, at once) and remembered, unless `refresh`."""
        if refresh:
            self._features.forget()
        return await self._features.all()

    async def offers(self, feature: Feature | str) -> bool:
        """Whether the server offers `feature` (probed once, remembered)."""
        return await self._features.offers(feature)

    # -- companies ------------------------------------------------------------

    async def update_company(
        self,
        company_id: str,
        *,
        name: str | _Unset = UNSET,
        description: str | _Unset | None = UNSET,
        contact_email: str | _Unset | None = UNSET,
        idempotency_key: str | None = None,
    ) -> Company:
        """`PATCH /companies/{id}`: changes only what is given; None clears
        the description or the contact email."""
        body: dict[str, Any] = {}
        if name is not UNSET:
            body["name"] = name
        if description is not UNSET:
            body["description"] = description
        if contact_email is not UNSET:
            body["contactEmail"] = contact_email
        reply = await self._call(
            Feature.COMPANY_EDIT,
            "PATCH",
            f"companies/{segment(company_id)}",
            json_body=body,
            idempotency_key=idempotency_key,
        )
        return self._parse(Company, reply)

    async def rotate_company_link(
        self, company_id: str, *, idempotency_key: str | None = None
    ) -> Company:
        """A new company link (`authUrl`); the old one answers 410 from then on."""
        reply = await self._call(
            Feature.COMPANY_EDIT,
            "POST",
            f"companies/{segment(company_id)}/link",
            idempotency_key=idempotency_key,
        )
        return self._parse(Company, reply)

    async def company_stats(self, query: str | None = None) -> CompanyStats:
        """Companies per connectionState, of all or of those `query` matches."""
        params = {"query": query} if query else None
        reply = await self._call(Feature.STATES, "GET", "companies/stats", params=params)
        return self._parse(CompanyStats, reply)

    # -- authorizations -------------------------------------------------------

    async def list_authorizations(
        self,
        *,
        statuses: Iterable[AuthorizationStatus | str] | str | None = None,
        company_id: str | None = None,
        order_by: AuthorizationOrder | str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> Page[Authorization]:
        """Authorizations across all companies (`statuses=["PENDING"]`: links
        sent and not yet used)."""
        params: dict[str, Any] = {"page": page, "pageSize": page_size}
        status = comma_list(statuses)
        if status:
            params["status"] = status
        if company_id:
            params["companyId"] = company_id
        if order_by:
            params["orderBy"] = str(order_by)
        reply = await self._call(Feature.AUTHORIZATIONS, "GET", "authorizations", params=params)
        return self._parse(Page[Authorization], reply)

    def iter_authorizations(
        self,
        *,
        statuses: Iterable[AuthorizationStatus | str] | str | None = None,
        company_id: str | None = None,
        order_by: AuthorizationOrder | str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Authorization]:
        """Every authorization the filters match, page after page."""

        async def fetch(page: int) -> Page[Authorization]:
            return await self.list_authorizations(
                statuses=statuses,
                company_id=company_id,
                order_by=order_by,
                page=page,
                page_size=page_size,
            )

        return walk_pages(fetch)

    async def cancel_authorization(self, company_id: str, authorization_id: str) -> None:
        """Cancel a PENDING link (it answers 410 from then on); 409 if it is
        not pending."""
        await self._call(
            Feature.AUTHORIZATIONS,
            "DELETE",
            f"companies/{segment(company_id)}/authorizations/{segment(authorization_id)}",
        )

    # -- events ---------------------------------------------------------------

    async def list_events(
        self,
        *,
        after: int | None = None,
        company_id: str | None = None,
        types: Iterable[EventType | str] | str | None = None,
        page_size: int | None = None,
    ) -> EventFeed:
        """`GET /events`: with `after`, the events after it, oldest first
        (`FeedGoneError` when that is older than the feed keeps); without,
        the newest first."""
        params: dict[str, Any] = {}
        if after is not None:
            params["after"] = after
        if company_id:
            params["companyId"] = company_id
        kinds = comma_list(types)
        if kinds:
            params["type"] = kinds
        if page_size is not None:
            params["pageSize"] = page_size
        try:
            reply = await self._call(Feature.EVENTS, "GET", "events", params=params or None)
        except GoneError as exc:
            raise FeedGoneError(
                exc.message,
                status_code=exc.status_code,
                correlation_id=exc.correlation_id,
                retry_after=exc.retry_after,
            ) from None
        return self._parse(EventFeed, reply)

    async def latest_event_sequence(self) -> int:
        """The newest sequence of the feed: where to start following it. Take
        it before loading what the events will update, so none is missed."""
        return (await self.list_events(page_size=1)).last_sequence

    async def company_events(
        self,
        company_id: str,
        *,
        page: int = 1,
        page_size: int = 50,
        types: Iterable[EventType | str] | str | None = None,
    ) -> Page[Event]:
        """One company's timeline, newest first (404 once it is deleted)."""
        params: dict[str, Any] = {"page": page, "pageSize": page_size}
        kinds = comma_list(types)
        if kinds:
            params["type"] = kinds
        reply = await self._call(
            Feature.EVENTS, "GET", f"companies/{segment(company_id)}/events", params=params
        )
        return self._parse(Page[Event], reply)

    def iter_company_events(
        self,
        company_id: str,
        *,
        types: Iterable[EventType | str] | str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Event]:
        """A company's whole timeline, newest first, page after page."""

        async def fetch(page: int) -> Page[Event]:
            return await self.company_events(
                company_id, page=page, page_size=page_size, types=types
            )

        return walk_pages(fetch)

    def follow_events(
        self,
        after: int | None = None,
        *,
        interval: float = 2.0,
        company_id: str | None = None,
        types: Iterable[EventType | str] | str | None = None,
        page_size: int | None = None,
        max_backoff: float = 30.0,
        include_unknown: bool = False,
    ) -> EventFollower:
        """Follow the events feed: `async for item in client.follow_events(s)`
        gives each new `Event` once, oldest first, and a `FeedReset` when the
        feed no longer holds where it was (reload, then read on). See
        `EventFollower`."""
        return EventFollower(
            self.list_events,
            after,
            interval=interval,
            company_id=company_id,
            types=comma_list(types),
            page_size=page_size,
            max_backoff=max_backoff,
            include_unknown=include_unknown,
            sleep=self._sleep,
            rng=self._rng,
        )

    # -- the machinery --------------------------------------------------------

    async def _require(
        self, feature: Feature, method: str | None = None, path: str | None = None
    ) -> None:
        """Before a [P] parameter goes to a first-revision endpoint: refused
        (read-only first, then not offered) without sending it."""
        if method is not None and self.read_only and method in ("POST", "PATCH", "PUT", "DELETE"):
            raise ReadOnlyError(f"{method} /{path} was not sent: this console is read-only")
        if not await self._features.offers(feature):
            raise _not_offered(feature)

    async def _call(
        self,
        feature: Feature,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
    ) -> Reply:
        """A call of a [P] endpoint: `NotOfferedError` when the server lacks it."""
        known = self._features.known(feature)
        if known is False:
            raise _not_offered(feature)
        try:
            reply = await self._request(
                method, path, params=params, json_body=json_body, idempotency_key=idempotency_key
            )
        except Sync2BooksError as exc:
            if await self._lacks(feature, exc):
                raise _not_offered(feature, exc) from None
            raise
        self._features.learn(feature, True)
        return reply

    async def _lacks(self, feature: Feature, error: Sync2BooksError) -> bool:
        """Whether `error`, from a [P] endpoint, means the server lacks it."""
        if error.status_code in ALWAYS_NOT_OFFERED:
            self._features.learn(feature, False)
            return True
        if error.status_code not in NOT_OFFERED_STATUSES:
            return False
        # A 404 or 400 is also what a server offering it answers for an
        # unknown id or a bad value: the probe tells them apart.
        try:
            return not await self._features.offers(feature)
        except Sync2BooksError:
            return False  # cannot tell: the call's own error stands


class SandboxPortfolioCalls:
    """The sandbox QA calls of the portfolio revision (`client.sandbox`)."""

    if TYPE_CHECKING:
        _client: Sync2BooksClient

    async def faults(self) -> dict[str, Any]:
        """The faults in force (`{}` when none)."""
        reply = await self._client._call(Feature.SANDBOX_CONTROLS, "GET", "sandbox/faults")
        if not isinstance(reply.body, dict):
            raise self._client._invalid(
                "The API's reply to GET /sandbox/faults was not a JSON object", reply
            )
        return reply.body

    async def expire_authorization(self, authorization_id: str) -> Authorization:
        """The authorization's expiresAt becomes now: it reads as EXPIRED."""
        reply = await self._client._call(
            Feature.SANDBOX_CONTROLS,
            "POST",
            f"sandbox/authorizations/{segment(authorization_id)}/expire",
        )
        return self._client._parse(Authorization, reply)

    async def reset(self) -> None:
        """Delete every company, connection, authorization and event (keys stay)."""
        await self._client._call(
            Feature.SANDBOX_CONTROLS, "POST", "sandbox/reset", json_body={"confirm": "RESET"}
        )


def seed_states(states: Mapping[CompanyState | str, float]) -> dict[str, float]:
    """`seed(states=…)` on the wire: shares keyed by connectionState."""
    return {str(state): share for state, share in states.items()}


def _not_offered(feature: Feature, cause: Sync2BooksError | None = None) -> NotOfferedError:
    return NotOfferedError(
        feature.value,
        FEATURE_DESCRIPTIONS[feature],
        status_code=cause.status_code if cause else None,
        correlation_id=cause.correlation_id if cause else None,
    )
