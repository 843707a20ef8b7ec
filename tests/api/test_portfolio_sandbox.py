"""The portfolio revision's calls against a real sandbox over loopback HTTP:
the flow of issue 11's "What it must show", company edits and link rotation,
pending links, the events feed followed live, and the sandbox QA controls.

Every test runs twice: with httpx's default transport (as against a remote
API) and as the console talks to its embedded sandbox (`sandbox_client`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from s2b_tui.api import (
    UNSET,
    Actor,
    AuthorizationOrder,
    AuthorizationStatus,
    CompanyOrder,
    CompanyState,
    ConflictError,
    ConnectionStatus,
    Event,
    EventType,
    FeedReset,
    NotFoundError,
    PortfolioFeatures,
    RetryPolicy,
    Sync2BooksClient,
    UnprocessableEntityError,
)
from s2b_tui.session import sandbox_client

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)
WAIT = 10.0  # seconds a live follower may take to see a change


@pytest.fixture(params=["default transport", "loopback transport"])
def connect(request) -> Callable[..., Sync2BooksClient]:
    """Makes clients: `connect(key, base_url, **options)`."""
    return Sync2BooksClient if request.param == "default transport" else sandbox_client


@pytest.fixture
async def client(sandbox, connect):
    async with connect(sandbox.api_key, sandbox.base_url, retry=FAST) as c:
        yield c


async def decide(url: str, decision: str = "allow") -> httpx.Response:
    """The customer's click on an authorization's consent page."""
    async with httpx.AsyncClient() as browser:
        return await browser.post(url, data={"decision": decision})


async def take(follower, count: int) -> list[Event | FeedReset]:
    async def collect() -> list[Event | FeedReset]:
        items: list[Event | FeedReset] = []
        async for item in follower:
            items.append(item)
            if len(items) == count:
                break
        return items

    return await asyncio.wait_for(collect(), WAIT)


def only_events(items: list[Event | FeedReset]) -> list[Event]:
    """The items as events: a FeedReset among them fails the test."""
    events = [i for i in items if isinstance(i, Event)]
    assert events == items, items
    return events


def near(moment: datetime | None, expected: datetime, slack: timedelta) -> bool:
    return moment is not None and abs(moment - expected) <= slack


async def test_the_sandbox_offers_every_portfolio_feature(client):
    assert await client.portfolio_features() == PortfolioFeatures(True, True, True, True, True)


async def test_what_issue_11_must_show(client):
    """Company with a contact email → XERO link → PENDING in the filter and the
    stats → allowed → CONNECTED → ERROR in the filter; the feed lists each
    change once, oldest first, with its actor; the company page shows neither
    description nor email."""
    before = await client.latest_event_sequence()
    company = await client.create_company(
        "Acme Ltd", "Expenses pilot", contact_email="ap@acme.example"
    )
    assert company.contact_email == "ap@acme.example"
    assert company.connection_state == CompanyState.NOT_CONNECTED
    assert company.state_changed_at == company.created_at

    auth = await client.create_connection(company.id, "XERO")
    assert (auth.company_name, auth.status) == ("Acme Ltd", AuthorizationStatus.PENDING)
    pending = await client.list_companies(states=[CompanyState.PENDING])
    assert [c.id for c in pending.results] == [company.id]
    stats = await client.company_stats()
    assert stats.count(CompanyState.PENDING) == 1 and stats.total_results == 1
    assert sum(stats.by_state.values()) == stats.total_results

    assert (await decide(auth.auth_url)).status_code == 200
    connected = await client.get_company(company.id)
    assert connected.connection_state == CompanyState.CONNECTED
    assert connected.state_changed_at >= company.state_changed_at
    (connection,) = connected.connections

    await client.sandbox.simulate(company.id, connection.id, "ERROR", error_code="TOKEN_EXPIRED")
    failing = await client.list_companies(states="ERROR")
    assert [c.id for c in failing.results] == [company.id]
    assert failing.results[0].connection_state == CompanyState.ERROR
    assert (await client.list_companies(states=["PENDING", "CONNECTED"])).results == []

    feed = await client.list_events(after=before)
    assert not feed.has_more and feed.last_sequence == feed.results[-1].sequence
    steps = [(e.type, e.actor) for e in feed.results]
    assert steps == [
        (EventType.COMPANY_CREATED, Actor.API),
        (EventType.AUTHORIZATION_CREATED, Actor.API),
        (EventType.AUTHORIZATION_COMPLETED, Actor.CUSTOMER),
        (EventType.CONNECTION_CONNECTED, Actor.CUSTOMER),
        (EventType.CONNECTION_FAILED, Actor.PLATFORM),
    ]
    sequences = [e.sequence for e in feed.results]
    assert sequences == sorted(set(sequences))
    assert all(e.company_id == company.id for e in feed.results)
    failed = feed.results[-1]
    assert (failed.from_status, failed.to_status) == ("CONNECTED", "ERROR")
    assert failed.connection_id == connection.id and failed.integration_key == "XERO"

    async with httpx.AsyncClient() as browser:
        page = (await browser.get(company.auth_url)).text
    assert "Acme Ltd" in page
    assert "Expenses pilot" not in page and "ap@acme.example" not in page


async def test_company_edits_change_what_is_given_and_none_clears(client):
    company = await client.create_company("Edit Me", "Note", contact_email="a@b.example")
    renamed = await client.update_company(company.id, name="  Edited Ltd  ")
    assert (renamed.name, renamed.description, renamed.contact_email) == (
        "Edited Ltd",
        "Note",
        "a@b.example",
    )
    cleared = await client.update_company(company.id, description=None, contact_email=None)
    assert (cleared.name, cleared.description, cleared.contact_email) == ("Edited Ltd", None, None)
    again = await client.update_company(company.id, contact_email="c@d.example", name=UNSET)
    assert again.contact_email == "c@d.example"
    assert (await client.get_company(company.id)) == again

    with pytest.raises(UnprocessableEntityError):
        await client.update_company(company.id)  # nothing to change
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.update_company(company.id, contact_email="not an email")
    assert caught.value.field_message("contactEmail")
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.update_company(company.id, name="")
    assert caught.value.field_message("name")
    with pytest.raises(NotFoundError):
        await client.update_company("00000000-0000-4000-8000-000000000000", name="X")
    timeline = await client.company_events(company.id, types=EventType.COMPANY_UPDATED)
    assert [e.type for e in timeline.results] == [EventType.COMPANY_UPDATED] * 3


async def test_a_rotated_company_link_retires_the_old_one(client):
    company = await client.create_company("Leaky Ltd")
    rotated = await client.rotate_company_link(company.id)
    assert rotated.auth_url and rotated.auth_url != company.auth_url
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(company.auth_url)).status_code == 410
        assert (await browser.get(rotated.auth_url)).status_code == 200
    with pytest.raises(NotFoundError):
        await client.rotate_company_link("00000000-0000-4000-8000-000000000000")


async def test_the_name_filter_finds_twins_and_the_id_prefix_search_finds_one(client):
    one = await client.create_company("Twin Ltd")
    two = await client.create_company("twin ltd ")
    await client.create_company("Twin Ltd Group")
    twins = await client.list_companies(name="TWIN LTD")
    assert {c.id for c in twins.results} == {one.id, two.id} and twins.total_results == 2
    short_id = one.id.replace("-", "")[:8]
    found = await client.list_companies(query=short_id)
    assert one.id in [c.id for c in found.results]


async def test_state_order_and_stats_add_up_over_a_seeded_portfolio(client):
    shares = {"ERROR": 0.2, "CONNECTED": 0.3, "PENDING": 0.2, "DISCONNECTED": 0.1}
    assert await client.sandbox.seed(200, seed=11, states=shares, connections_per_company=2) == 200
    stats = await client.company_stats()
    assert stats.total_results == 200 and not stats.total_is_lower_bound
    assert sum(stats.by_state.values()) == 200
    assert set(stats.by_state) == {s.value for s in CompanyState}
    for state in CompanyState:
        listed = await client.list_companies(states=[state], page_size=1)
        assert listed.total_results == stats.count(state)
        assert not listed.total_is_lower_bound
    assert stats.count("ERROR") > 0 and stats.count("PENDING") > 0

    newest = await client.list_companies(order_by=CompanyOrder.STATE_CHANGED_DESC, page_size=50)
    moments = [c.state_changed_at for c in newest.results]
    assert None not in moments and moments == sorted(moments, reverse=True)
    errors = [c async for c in client.iter_companies(states="ERROR", page_size=7)]
    assert len(errors) == stats.count("ERROR") == len({c.id for c in errors})
    assert all(c.connection_state == CompanyState.ERROR for c in errors)


async def test_the_same_seed_gives_the_same_portfolio(client):
    async def names() -> list[tuple[str, str | None]]:
        return sorted(
            [(c.name, c.connection_state) async for c in client.iter_companies(page_size=100)]
        )

    await client.sandbox.seed(30, seed=5, states={"ERROR": 0.5})
    first = await names()
    await client.sandbox.reset()
    assert (await client.company_stats()).total_results == 0
    await client.sandbox.seed(30, seed=5, states={"ERROR": 0.5})
    assert await names() == first


async def test_link_lifetimes_one_pending_link_per_integration_and_cancelling(client):
    company = await client.create_company("Links Ltd")
    started = datetime.now(UTC)
    short = await client.create_connection(company.id, "SAGE", expires_in_minutes=5)
    assert near(short.expires_at, started + timedelta(minutes=5), timedelta(minutes=1))
    assert near(short.created_at, started, timedelta(minutes=1))
    default = await client.create_connection(company.id, "XERO")
    assert near(default.expires_at, started + timedelta(days=7), timedelta(minutes=1))
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.create_connection(company.id, "XERO", expires_in_minutes=4)
    assert caught.value.field_message("expiresInMinutes")
    with pytest.raises(UnprocessableEntityError):
        await client.create_connection(company.id, "XERO", expires_in_minutes=43_201)

    # A newer link for the same integration cancels the older one.
    newer = await client.create_connection(company.id, "XERO", expires_in_minutes=60)
    assert (await client.get_authorization(company.id, default.id)).status == "CANCELLED"
    assert (await decide(default.auth_url)).status_code == 410

    pending = await client.list_authorizations(statuses=[AuthorizationStatus.PENDING])
    assert {a.id for a in pending.results} == {short.id, newer.id}
    assert all(a.company_name == "Links Ltd" for a in pending.results)
    by_expiry = await client.list_authorizations(
        statuses="PENDING", order_by=AuthorizationOrder.EXPIRES
    )
    assert [a.id for a in by_expiry.results] == [short.id, newer.id]
    everything = [a async for a in client.iter_authorizations(company_id=company.id, page_size=1)]
    assert {a.id for a in everything} == {short.id, default.id, newer.id}

    await client.cancel_authorization(company.id, short.id)
    assert (await client.get_authorization(company.id, short.id)).status == "CANCELLED"
    assert (await decide(short.auth_url)).status_code == 410
    with pytest.raises(ConflictError):
        await client.cancel_authorization(company.id, short.id)
    with pytest.raises(NotFoundError):
        await client.cancel_authorization(company.id, "00000000-0000-4000-8000-000000000000")


async def test_a_reauthorization_carries_its_lifetime(client):
    company = await client.create_company("Again Ltd")
    auth = await client.create_connection(company.id, "QUICKBOOKS")
    await decide(auth.auth_url)
    (connection,) = (await client.list_connections(company.id)).results
    await client.unlink_connection(company.id, connection.id)
    started = datetime.now(UTC)
    again = await client.reauthorize_connection(company.id, connection.id, expires_in_minutes=30)
    assert near(again.expires_at, started + timedelta(minutes=30), timedelta(minutes=1))
    assert (await client.get_company(company.id)).connection_state == CompanyState.PENDING


async def test_expiring_a_link_reads_as_expired_and_is_recorded_once(client):
    company = await client.create_company("Late Ltd")
    auth = await client.create_connection(company.id, "XERO")
    expired = await client.sandbox.expire_authorization(auth.id)
    assert expired.status == AuthorizationStatus.EXPIRED
    assert (await client.get_authorization(company.id, auth.id)).status == "EXPIRED"
    assert (await client.get_company(company.id)).connection_state == CompanyState.NOT_CONNECTED
    assert (await decide(auth.auth_url)).status_code == 410
    timeline = await client.company_events(company.id)
    kinds = [e.type for e in timeline.results]
    assert kinds.count(EventType.AUTHORIZATION_EXPIRED) == 1
    assert kinds[0] == EventType.AUTHORIZATION_EXPIRED  # newest first
    with pytest.raises(ConflictError):
        await client.cancel_authorization(company.id, auth.id)


async def test_a_timeline_is_newest_first_and_gone_with_its_company(client):
    company = await client.create_company("Story Ltd")
    auth = await client.create_connection(company.id, "SAGE")
    await decide(auth.auth_url, "deny")
    await client.update_company(company.id, description="Declined once")
    timeline = [e async for e in client.iter_company_events(company.id, page_size=2)]
    assert [e.type for e in timeline] == [
        EventType.COMPANY_UPDATED,
        EventType.AUTHORIZATION_DECLINED,
        EventType.AUTHORIZATION_CREATED,
        EventType.COMPANY_CREATED,
    ]
    assert [e.sequence for e in timeline] == sorted((e.sequence for e in timeline), reverse=True)
    only = await client.company_events(company.id, types=["company.created"])
    assert [e.type for e in only.results] == [EventType.COMPANY_CREATED]

    before = await client.latest_event_sequence()
    await client.delete_company(company.id)
    with pytest.raises(NotFoundError):
        await client.company_events(company.id)
    (deleted,) = (await client.list_events(after=before)).results
    assert (deleted.type, deleted.company_id) == (EventType.COMPANY_DELETED, company.id)


async def test_following_the_feed_live_gives_each_change_once_in_order(client, sandbox, connect):
    async with connect(sandbox.api_key, sandbox.base_url, retry=FAST) as watcher:
        start = await watcher.latest_event_sequence()
        follower = watcher.follow_events(start, interval=0.05, page_size=2)
        watching = asyncio.create_task(take(follower, 7))

        company = await client.create_company("Live Ltd")
        auth = await client.create_connection(company.id, "XERO")
        await decide(auth.auth_url)
        (connection,) = (await client.list_connections(company.id)).results
        await client.unlink_connection(company.id, connection.id)
        await client.delete_connection(company.id, connection.id)
        await client.delete_company(company.id)

        items = await watching
    assert [i.type for i in items if isinstance(i, Event)] == [
        EventType.COMPANY_CREATED,
        EventType.AUTHORIZATION_CREATED,
        EventType.AUTHORIZATION_COMPLETED,
        EventType.CONNECTION_CONNECTED,
        EventType.CONNECTION_DISCONNECTED,
        EventType.CONNECTION_DELETED,
        EventType.COMPANY_DELETED,
    ]
    sequences = [i.sequence for i in items if isinstance(i, Event)]
    assert sequences == sorted(set(sequences)) and sequences[0] > start
    assert follower.position == sequences[-1]


async def test_a_follower_filtered_to_one_company_sees_only_it(client):
    mine = await client.create_company("Mine Ltd")
    start = await client.latest_event_sequence()
    follower = client.follow_events(
        start, interval=0.05, company_id=mine.id, types=[EventType.COMPANY_UPDATED]
    )
    watching = asyncio.create_task(take(follower, 2))
    other = await client.create_company("Other Ltd")
    await client.update_company(other.id, name="Other Group")
    await client.update_company(mine.id, name="Mine Group")
    await client.create_connection(mine.id, "XERO")
    await client.update_company(mine.id, description="Pilot")
    items = only_events(await watching)
    assert [(i.company_id, i.type) for i in items] == [(mine.id, EventType.COMPANY_UPDATED)] * 2


async def test_a_follower_behind_a_reset_is_told_to_reload_and_carries_on(client):
    start = await client.latest_event_sequence()
    for name in ("A Ltd", "B Ltd", "C Ltd"):
        await client.create_company(name)
    follower = client.follow_events(start, interval=0.05, page_size=1)
    (first,) = only_events(await take(follower, 1))
    assert first.type == EventType.COMPANY_CREATED
    await client.sandbox.reset()  # the feed no longer holds what came after `first`
    (reset,) = await take(follower, 1)
    assert isinstance(reset, FeedReset) and follower.position == reset.last_sequence
    created = await client.create_company("After Ltd")
    (after,) = await take(follower, 1)
    assert isinstance(after, Event) and after.company_id == created.id
    assert after.sequence > reset.last_sequence


async def test_faults_in_force_are_read_back(client):
    assert await client.sandbox.faults() == {}
    await client.sandbox.set_faults(latency_ms=5, path_prefix="/integrations")
    faults = await client.sandbox.faults()
    assert faults["latencyMs"] == 5 and faults["pathPrefix"] == "/integrations"
    await client.sandbox.clear_faults()
    assert await client.sandbox.faults() == {}


async def test_a_follower_waits_out_an_outage_without_losing_an_event(client, sandbox, connect):
    async with connect(sandbox.api_key, sandbox.base_url, retry=FAST) as watcher:
        start = await watcher.latest_event_sequence()
        follower = watcher.follow_events(start, interval=0.05, max_backoff=0.2)
        await client.create_company("Before Ltd")
        (before,) = only_events(await take(follower, 1))
        await client.sandbox.set_faults(
            error_rate=1.0, error_status=503, retry_after=0, path_prefix="/events"
        )
        watching = asyncio.create_task(take(follower, 2))
        made = [await client.create_company(n) for n in ("During Ltd", "Still Ltd")]
        await asyncio.sleep(0.5)
        assert not watching.done() and follower.failures > 0
        await client.sandbox.clear_faults()
        during = only_events(await watching)
    assert [e.company_id for e in during] == [c.id for c in made]
    assert before.sequence < during[0].sequence < during[1].sequence
    assert follower.last_error is None


async def test_the_sandbox_reset_needs_its_confirmation_and_keeps_the_key(client, sandbox):
    await client.create_company("Gone Soon Ltd")
    async with httpx.AsyncClient(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}
    ) as raw:
        refused = await raw.post("/sandbox/reset", json={"confirm": "yes"})
        assert refused.status_code in (400, 422)
    assert (await client.company_stats()).total_results == 1
    await client.sandbox.reset()
    assert (await client.list_companies()).total_results == 0
    assert (await client.list_events()).results == []
    assert await client.list_integrations()  # the key still works


async def test_a_connection_status_change_moves_the_company_state(client):
    company = await client.create_company("Moves Ltd")
    auth = await client.create_connection(company.id, "XERO")
    await decide(auth.auth_url)
    (connection,) = (await client.list_connections(company.id)).results
    states = []
    for status in ("ERROR", "CONNECTED", "DISCONNECTED"):
        await client.sandbox.simulate(company.id, connection.id, status)
        states.append((await client.get_company(company.id)).connection_state)
    assert states == [CompanyState.ERROR, CompanyState.CONNECTED, CompanyState.DISCONNECTED]
    assert (await client.get_connection(company.id, connection.id)).status == (
        ConnectionStatus.DISCONNECTED
    )
