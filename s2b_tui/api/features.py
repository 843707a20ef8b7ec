"""Which features of API v1's portfolio revision ([P] in API.md) a server offers.

A server of the first revision lacks them all; a client built for the
portfolio revision still works against it, and a console hides what needs a
missing feature with a one-line note instead of failing. A feature is learnt
cheaply and once per client: from a read that only a server offering it
answers (`GET /companies/stats`, `GET /authorizations?pageSize=1`,
`GET /events?pageSize=1`, `GET /sandbox/faults`), or from any call of the
feature that succeeded or was refused with 405.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from s2b_tui.api.errors import Sync2BooksError


class Feature(StrEnum):
    """The groups of [P] items a console shows or hides together."""

    STATES = "states"
    AUTHORIZATIONS = "authorizations"
    EVENTS = "events"
    COMPANY_EDIT = "company_edit"
    SANDBOX_CONTROLS = "sandbox_controls"


#: What each feature is, for a sentence ("This API does not offer …").
FEATURE_DESCRIPTIONS: dict[Feature, str] = {
    Feature.STATES: "connection states (state filters and counts)",
    Feature.AUTHORIZATIONS: "pending links (listing and cancelling links, link lifetimes)",
    Feature.EVENTS: "timelines and the live portfolio (the events feed)",
    Feature.COMPANY_EDIT: "editing companies (contact emails, link rotation)",
    Feature.SANDBOX_CONTROLS: "sandbox reset, expiry and fault read-back",
}

#: The read that only a server offering the feature answers with 2xx.
PROBES: dict[Feature, tuple[str, dict[str, Any] | None]] = {
    Feature.STATES: ("companies/stats", None),
    Feature.AUTHORIZATIONS: ("authorizations", {"pageSize": 1}),
    Feature.EVENTS: ("events", {"pageSize": 1}),
    Feature.SANDBOX_CONTROLS: ("sandbox/faults", None),
}

#: No read reveals PATCH /companies/{id} or link rotation without changing
#: something: a server offering any of these is of the portfolio revision,
#: which has them too (and a call that finds them missing says so itself).
_REVISION_WITNESSES = (Feature.STATES, Feature.EVENTS, Feature.AUTHORIZATIONS)

#: Statuses with which a first-revision server answers a [P] endpoint or
#: parameter: no such route (404), no such method on it (405), or a value it
#: does not know (400, 422), or not implemented (501).
NOT_OFFERED_STATUSES = frozenset({400, 404, 405, 422, 501})
#: Of those, the ones that can only mean "not offered" on a [P] endpoint.
ALWAYS_NOT_OFFERED = frozenset({405, 501})


@dataclass(frozen=True, slots=True)
class PortfolioFeatures:
    """What a server offers of the portfolio revision."""

    states: bool
    authorizations: bool
    events: bool
    company_edit: bool
    sandbox_controls: bool

    def offers(self, feature: Feature | str) -> bool:
        return bool(getattr(self, Feature(feature).value))

    @property
    def missing(self) -> tuple[Feature, ...]:
        return tuple(Feature(f.name) for f in fields(self) if not getattr(self, f.name))

    @property
    def first_revision(self) -> bool:
        """None of the API's [P] features (sandbox controls aside)."""
        return not (self.states or self.authorizations or self.events or self.company_edit)

    def note(self, *, sandbox: bool = False) -> str | None:
        """One line for a console to show, or None when nothing is missing.
        Sandbox controls count only for a sandbox."""
        missing = [
            FEATURE_DESCRIPTIONS[f]
            for f in self.missing
            if sandbox or f is not Feature.SANDBOX_CONTROLS
        ]
        if not missing:
            return None
        return f"This API does not offer {_join(missing)}; what needs it is hidden."


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


ProbeGet = Callable[[str, dict[str, Any] | None], Awaitable[object]]


class FeatureProbe:
    """Learns and remembers which features a server offers.

    `get(path, params)` makes one GET through the client and raises a
    `Sync2BooksError` when it is refused. A probe that fails for another
    reason (the API unreachable, a 5xx, a 401) is not remembered: the error
    goes to the caller and the next question probes again.
    """

    def __init__(self, get: ProbeGet) -> None:
        self._get = get
        self._known: dict[Feature, bool] = {}
        self._locks = {feature: asyncio.Lock() for feature in PROBES}

    def known(self, feature: Feature | str) -> bool | None:
        """What is known without asking (None: not yet)."""
        feature = Feature(feature)
        if feature is Feature.COMPANY_EDIT and feature not in self._known:
            witnesses = [self._known.get(w) for w in _REVISION_WITNESSES]
            if any(witnesses):
                return True
            if all(w is False for w in witnesses):
                return False
            return None
        return self._known.get(feature)

    def learn(self, feature: Feature | str, offered: bool) -> None:
        self._known[Feature(feature)] = offered

    def forget(self) -> None:
        self._known.clear()

    async def offers(self, feature: Feature | str) -> bool:
        feature = Feature(feature)
        known = self.known(feature)
        if known is not None:
            return known
        if feature is Feature.COMPANY_EDIT:
            for witness in _REVISION_WITNESSES:
                if await self.offers(witness):
                    return True
            return False
        async with self._locks[feature]:
            known = self._known.get(feature)
            if known is None:
                known = self._known[feature] = await self._probe(feature)
        return known

    async def _probe(self, feature: Feature) -> bool:
        path, params = PROBES[feature]
        try:
            await self._get(path, params)
        except Sync2BooksError as exc:
            if exc.status_code in NOT_OFFERED_STATUSES:
                return False
            raise
        return True

    async def all(self) -> PortfolioFeatures:
        """Every feature, probing what is not known yet (at once)."""
        outcomes = await asyncio.gather(
            *(self.offers(feature) for feature in PROBES), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return PortfolioFeatures(
            **{feature.value: await self.offers(feature) for feature in Feature}
        )
