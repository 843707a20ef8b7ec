"""Following the events feed against an in-memory feed: order, paging with
hasMore, the reset after a 410, transient failures waited out without
skipping or repeating an event, and cancellation."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import httpx
import pytest

from s2b_tui.api import (
    AuthenticationError,
    Event,
    EventFollower,
    FeedReset,
    NotOfferedError,
    RetryPolicy,
    Sync2BooksClient,
)
from tests.api.fake_api import BASE_URL, ID, ID2, KEY, FakeFeed, error


class TooManyWaits(Exception):
    """A follower waited more often than the test allows (it would spin)."""


class Clock:
    """The client's sleep: records each wait, runs `on_wait`, never sleeps."""

    def __init__(self, limit: int = 50) -> None:
        self.waits: list[float] = []
        self.limit = limit
        self.on_wait: Callable[[int], object] | None = None

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if len(self.waits) > self.limit:
            raise TooManyWaits(self.waits)
        if self.on_wait:
            self.on_wait(len(self.waits))


def client_of(feed, clock: Clock | None = None, **kwargs) -> Sync2BooksClient:
    return Sync2BooksClient(
        KEY,
        BASE_URL,
        transport=httpx.MockTransport(feed),
        sleep=clock or Clock(),
        rng=random.Random(5),
        retry=RetryPolicy(max_retries=0),
        **kwargs,
    )


async def take(follower: EventFollower, count: int) -> list[Event | FeedReset]:
    items: list[Event | FeedReset] = []
    async for item in follower:
        items.append(item)
        if len(items) == count:
            break
    return items


def only_events(items: list[Event | FeedReset]) -> list[Event]:
    """The items as events: a FeedReset among them fails the test."""
    events = [i for i in items if isinstance(i, Event)]
    assert events == items, items
    return events


def sequences(items) -> list[int | str]:
    return [i.sequence if isinstance(i, Event) else f"reset@{i.last_sequence}" for i in items]


async def test_follows_from_a_sequence_oldest_first_paging_while_has_more():
    feed = FakeFeed(25)
    clock = Clock()
    follower = client_of(feed, clock).follow_events(3, page_size=10)
    items = await take(follower, 22)
    assert sequences(items) == list(range(4, 26))
    assert [r.get("after") for r in feed.requests] == ["3", "13", "23"]
    assert clock.waits == []  # hasMore: read on at once
    assert follower.position == 25


async def test_without_a_start_it_follows_from_the_newest_sequence():
    feed = FakeFeed(7)
    clock = Clock()
    clock.on_wait = lambda n: feed.add(2) if n == 1 else None
    follower = client_of(feed, clock).follow_events(interval=1.5)
    items = await take(follower, 2)
    assert sequences(items) == [8, 9]  # none of what was there before
    assert feed.requests[0] == {"pageSize": "1"}
    assert feed.requests[1] == {"after": "7"}
    assert clock.waits == [1.5]


async def test_waits_the_interval_between_reads_once_caught_up():
    feed = FakeFeed(2)
    clock = Clock()
    clock.on_wait = lambda n: feed.add(1) if n % 3 == 0 else None
    items = await take(client_of(feed, clock).follow_events(0, interval=0.25), 4)
    assert sequences(items) == [1, 2, 3, 4]
    assert clock.waits == [0.25] * 6


async def test_gaps_in_sequences_are_fine_and_nothing_is_repeated():
    feed = FakeFeed()
    feed.add(3, gap=4)
    clock = Clock()
    clock.on_wait = lambda n: feed.add(1, gap=10) if n == 1 else None
    items = await take(client_of(feed, clock).follow_events(0, page_size=2), 4)
    assert sequences(items) == [5, 10, 15, 26]


async def test_a_server_repeating_or_reordering_events_still_gives_each_once_in_order():
    feed = FakeFeed(6)
    replies = iter(
        [
            {"results": [feed.events[2], feed.events[0], feed.events[1]], "hasMore": True},
            {"results": [feed.events[1], feed.events[2], feed.events[3]], "hasMore": False},
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(replies) | {"lastSequence": 6})

    items = await take(client_of(handler).follow_events(0), 4)
    assert sequences(items) == [1, 2, 3, 4]


async def test_a_410_gives_a_reset_with_the_newest_sequence_then_carries_on():
    feed = FakeFeed(10)
    feed.forget_before(6)  # retention dropped 1..6
    clock = Clock()
    clock.on_wait = lambda n: feed.add(2) if n == 1 else None
    follower = client_of(feed, clock).follow_events(2)
    items = await take(follower, 3)
    assert sequences(items) == ["reset@10", 11, 12]
    assert [r.get("after") for r in feed.requests] == ["2", None, "10", "10"]
    assert feed.requests[1] == {"pageSize": "1"}


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ConnectError("Connection refused"),
        httpx.ReadTimeout("slow"),
        error(503, "Maintenance"),
        error(500, "Boom"),
        error(502, "Bad gateway"),
        error(429, "Slow down", **{"Retry-After": "3"}),
    ],
    ids=["refused", "timeout", "503", "500", "502", "429"],
)
async def test_transient_failures_are_waited_out_and_reading_resumes_where_it_was(fault):
    feed = FakeFeed(3)
    clock = Clock()
    follower = client_of(feed, clock).follow_events(0, page_size=2, interval=1.0)

    first = await take(follower, 2)
    feed.faults.extend([fault, fault, fault])
    feed.add(3)
    rest = await take(follower, 4)

    assert sequences(first + rest) == [1, 2, 3, 4, 5, 6]
    afters = [r.get("after") for r in feed.requests]
    assert afters == ["0", "2", "2", "2", "2", "4"]  # the failed read, retried as it was
    assert len(clock.waits) == 3 and follower.failures == 0 and follower.last_error is None
    if isinstance(fault, httpx.Response) and fault.status_code == 429:
        assert clock.waits == [3.0, 3.0, 3.0]  # the server's Retry-After
    else:
        assert 0.5 <= clock.waits[0] <= 1.0 and 1.0 <= clock.waits[1] <= 2.0
        assert 2.0 <= clock.waits[2] <= 4.0  # growing pauses


async def test_backing_off_is_capped_and_reports_the_error_being_waited_out():
    feed = FakeFeed(1)
    feed.faults.extend([httpx.ConnectError("refused")] * 8)
    clock = Clock()
    seen: list[tuple[int, str]] = []
    follower = client_of(feed, clock).follow_events(0, interval=2.0, max_backoff=5.0)

    def watch(n: int) -> None:
        seen.append((follower.failures, type(follower.last_error).__name__))

    clock.on_wait = watch
    (item,) = only_events(await take(follower, 1))
    assert item.sequence == 1
    assert max(clock.waits) <= 5.0 and clock.waits[-1] >= 2.5
    assert seen[0] == (1, "ApiConnectionError") and seen[-1][0] == 8


async def test_a_failure_while_learning_the_newest_sequence_is_waited_out_too():
    feed = FakeFeed(4)
    feed.faults.extend([httpx.ConnectError("refused"), error(503, "Down")])
    clock = Clock()
    clock.on_wait = lambda n: feed.add(1) if n == 3 else None
    items = await take(client_of(feed, clock).follow_events(), 1)
    assert sequences(items) == [5]


async def test_a_failure_while_recovering_from_a_410_never_skips_the_reset():
    feed = FakeFeed(5)
    feed.forget_before(3)
    feed.faults.extend([error(410, "Gone"), httpx.ConnectError("refused")])
    follower = client_of(feed).follow_events(1)
    items = await take(follower, 1)
    # 410, then the newest sequence could not be read: the read is made again
    # (410 again) and the reset comes once the newest sequence is known.
    assert sequences(items) == ["reset@5"] and follower.position == 5
    assert [r.get("after") for r in feed.requests] == ["1", None, "1", None]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (error(401, "Unknown API key"), AuthenticationError),
        (error(404, "No such endpoint"), NotOfferedError),
    ],
    ids=["revoked key", "no feed"],
)
async def test_an_error_waiting_cannot_cure_ends_the_iteration(reply, expected):
    def handler(request: httpx.Request) -> httpx.Response:
        return reply

    follower = client_of(handler).follow_events(0)
    with pytest.raises(expected):
        await take(follower, 1)


async def test_events_of_unknown_types_are_passed_over_unless_asked_for():
    feed = FakeFeed(1)
    feed.add(1, "key.rotated")
    feed.add(1, "company.deleted")
    known = only_events(await take(client_of(feed).follow_events(0), 2))
    assert [(e.sequence, e.type) for e in known] == [(1, "company.updated"), (3, "company.deleted")]
    every = only_events(await take(client_of(feed).follow_events(0, include_unknown=True), 3))
    assert [e.type for e in every] == ["company.updated", "key.rotated", "company.deleted"]


async def test_a_filtered_follower_moves_on_to_the_newest_sequence():
    feed = FakeFeed()
    feed.add(3, company_id=ID2)
    feed.add(1, company_id=ID)
    feed.add(4, company_id=ID2)
    clock = Clock()
    clock.on_wait = lambda n: feed.add(1, "company.deleted", company_id=ID) if n == 1 else None
    follower = client_of(feed, clock).follow_events(
        0, company_id=ID, types=["company.updated", "company.deleted"]
    )
    items = await take(follower, 2)
    assert sequences(items) == [4, 9]
    assert feed.requests[0] == {
        "after": "0",
        "companyId": ID,
        "type": "company.updated,company.deleted",
    }
    # Caught up at 8 (the feed's newest), not left behind at 4.
    assert feed.requests[1]["after"] == "8"
    assert follower.position == 9


async def test_position_counts_only_what_was_handed_out():
    feed = FakeFeed(6)
    follower = client_of(feed).follow_events(0, page_size=6)
    await take(follower, 2)
    assert follower.position == 2  # 3..6 were read but not handed out
    resumed = await take(client_of(feed).follow_events(follower.position), 4)
    assert sequences(resumed) == [3, 4, 5, 6]


async def test_cancelling_while_waiting_stops_the_follower():
    feed = FakeFeed(2)
    client = Sync2BooksClient(KEY, BASE_URL, transport=httpx.MockTransport(feed))
    got: list[Event | FeedReset] = []
    follower = client.follow_events(0, interval=30.0)

    async def follow() -> None:
        async for item in follower:
            got.append(item)

    task = asyncio.create_task(follow())
    for _ in range(100):
        await asyncio.sleep(0.01)
        if len(got) == 2:
            break
    await asyncio.sleep(0.02)  # now waiting its 30 s
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    reads = len(feed.requests)
    await asyncio.sleep(0.05)
    assert sequences(got) == [1, 2] and len(feed.requests) == reads
    await client.aclose()


async def test_cancelling_a_read_in_flight_loses_nothing():
    feed = FakeFeed(3)
    release = asyncio.Event()
    entered = asyncio.Event()
    stall = {"on": False}

    async def handler(request: httpx.Request) -> httpx.Response:
        if stall["on"]:
            entered.set()
            await release.wait()
        return feed(request)

    client = Sync2BooksClient(KEY, BASE_URL, transport=httpx.MockTransport(handler))
    follower = client.follow_events(0, page_size=3, interval=0.0)
    first = await take(follower, 3)
    stall["on"] = True
    feed.add(2)
    task = asyncio.create_task(take(follower, 1))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stall["on"] = False
    rest = await take(follower, 2)  # the same follower reads on where it was
    assert sequences(first + rest) == [1, 2, 3, 4, 5]
    await client.aclose()
