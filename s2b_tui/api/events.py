"""Following the events feed (`GET /events?after=`), for live consoles.

    position = await client.latest_event_sequence()   # before loading the list
    rows = await load_what_is_shown()
    async for item in client.follow_events(position):
        if isinstance(item, FeedReset):
            rows = await load_what_is_shown()          # then read on
        else:
            apply(item, rows)

Each event comes once, oldest first. The follower reads pages until the feed
says `hasMore` is false, then waits `interval` seconds. When the feed no longer
holds the events after where it was (410: kept for 30 days, or the sandbox was
reset) it gives a `FeedReset` carrying the feed's newest sequence, and reads on
from there. A transient failure (the API unreachable, a timeout, a 5xx, a 429)
is waited out with growing pauses, and reading resumes where it stopped:
nothing is skipped or repeated. Any other error (a revoked key,
`NotOfferedError` from a server without the feed) ends the iteration by being
raised. Cancel the task that iterates, or stop iterating, to stop following.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from s2b_tui.api.errors import (
    ApiConnectionError,
    ApiTimeoutError,
    FeedGoneError,
    RateLimitError,
    ServerError,
    Sync2BooksError,
)
from s2b_tui.api.models import Event, EventFeed


@dataclass(frozen=True, slots=True)
class FeedReset:
    """The feed no longer holds the events after where the follower was:
    whatever they would have updated must be reloaded. The events after
    `last_sequence` follow."""

    last_sequence: int


FeedItem = Event | FeedReset


class ListEvents(Protocol):
    def __call__(
        self,
        *,
        after: int | None = None,
        company_id: str | None = None,
        types: str | None = None,
        page_size: int | None = None,
    ) -> Awaitable[EventFeed]: ...


def is_transient(error: Sync2BooksError) -> bool:
    """An error that waiting out may cure."""
    return isinstance(error, ApiConnectionError | ApiTimeoutError | ServerError | RateLimitError)


class EventFollower:
    """An async iterator of `Event` and `FeedReset` items; see the module.

    `position` is the sequence of everything handed out so far (start a new
    follower there to resume); `last_error` the transient error being waited
    out, or None while the feed answers; `failures` how many in a row.
    """

    def __init__(
        self,
        list_events: ListEvents,
        after: int | None = None,
        *,
        interval: float = 2.0,
        company_id: str | None = None,
        types: str | None = None,
        page_size: int | None = None,
        max_backoff: float = 30.0,
        include_unknown: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if interval < 0 or max_backoff < 0:
            raise ValueError("interval and max_backoff must not be negative")
        self._list_events = list_events
        self.interval = interval
        self.company_id = company_id
        self.types = types
        self.page_size = page_size
        self.max_backoff = max_backoff
        self.include_unknown = include_unknown
        self._sleep = sleep
        self._rng = rng or random.Random()
        # The feed is read after `_cursor`; `_handed_out` is the sequence of
        # the last item given to the caller, `_pending` what is read but not
        # given yet.
        self._cursor: int | None = after
        self._handed_out: int | None = after
        self._pending: deque[FeedItem] = deque()
        self._caught_up = False  # the last page said hasMore: false
        self.last_error: Sync2BooksError | None = None
        self.failures = 0

    @property
    def position(self) -> int | None:
        """Everything up to this sequence was handed out (None before the
        follower has learnt where the feed is)."""
        return self._cursor if not self._pending else self._handed_out

    def __aiter__(self) -> EventFollower:
        return self

    async def __anext__(self) -> FeedItem:
        while not self._pending:
            await self._read()
        item = self._pending.popleft()
        self._handed_out = item.last_sequence if isinstance(item, FeedReset) else item.sequence
        return item

    async def _read(self) -> None:
        """One step: learn where the feed is, or read a page, or wait."""
        if self._caught_up:
            await self._sleep(self.interval)
            self._caught_up = False
        try:
            if self._cursor is None:
                self._cursor = self._handed_out = await self._latest()
            else:
                await self._read_page(self._cursor)
        except Sync2BooksError as error:
            if not is_transient(error):
                raise
            await self._back_off(error)
            return
        self.last_error = None
        self.failures = 0

    async def _read_page(self, after: int) -> None:
        try:
            feed = await self._list_events(
                after=after,
                company_id=self.company_id,
                types=self.types,
                page_size=self.page_size,
            )
        except FeedGoneError:
            latest = await self._latest()
            self._pending.append(FeedReset(latest))
            self._cursor = latest
            return
        cursor = after
        for event in sorted(feed.results, key=lambda e: e.sequence):
            if event.sequence <= cursor:
                continue  # a repeat (or a server out of order): never twice
            cursor = event.sequence
            if self.include_unknown or event.is_known:
                self._pending.append(event)
        if not feed.has_more:
            self._caught_up = True
            if (self.company_id or self.types) and feed.last_sequence > cursor:
                # A filtered read that is complete up to the feed's newest:
                # moving on keeps the cursor from ageing out of the feed.
                cursor = feed.last_sequence
        elif cursor == after:
            # "More", but nothing after `after`: wait rather than spin.
            self._caught_up = True
        self._cursor = cursor

    async def _latest(self) -> int:
        feed = await self._list_events(page_size=1)
        return feed.last_sequence

    async def _back_off(self, error: Sync2BooksError) -> None:
        self.last_error = error
        self.failures += 1
        if error.retry_after is not None:
            delay = min(error.retry_after, self.max_backoff)
        else:
            ceiling = min(self.max_backoff, max(self.interval, 0.5) * 2 ** (self.failures - 1))
            delay = self._rng.uniform(ceiling / 2, ceiling)
        await self._sleep(delay)
