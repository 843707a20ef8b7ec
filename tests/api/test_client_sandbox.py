"""The client against a real sandbox over loopback HTTP: every endpoint, its
error cases, the flow of API.md, retries and idempotency under injected faults.

Every test runs twice: with httpx's default transport (as against a remote
API) and as the console talks to its embedded sandbox (`sandbox_client`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from s2b_tui.api import (
    ApiConnectionError,
    AuthenticationError,
    AuthorizationStatus,
    ConflictError,
    ConnectionStatus,
    GoneError,
    IntegrationKey,
    NotFoundError,
    RequestEvent,
    RetryPolicy,
    ServerError,
    Sync2BooksClient,
    UnprocessableEntityError,
)
from s2b_tui.sandbox import EmbeddedSandbox
from s2b_tui.session import sandbox_client

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)


@pytest.fixture(params=["default transport", "loopback transport"])
def connect(request) -> Callable[..., Sync2BooksClient]:
    """Makes clients: `connect(key, base_url, **options)`."""
    return Sync2BooksClient if request.param == "default transport" else sandbox_client


@pytest.fixture
async def client(sandbox, connect):
    async with connect(sandbox.api_key, sandbox.base_url, retry=FAST) as c:
        yield c


async def allow(url: str, decision: str = "allow") -> httpx.Response:
    async with httpx.AsyncClient() as browser:
        return await browser.post(url, data={"decision": decision})


async def test_integrations(client):
    integrations = await client.list_integrations()
    assert [(i.key, i.name) for i in integrations] == [
        (IntegrationKey.QUICKBOOKS, "QuickBooks Online"),
        (IntegrationKey.QUICKBOOKS_DESKTOP, "QuickBooks Desktop"),
        (IntegrationKey.XERO, "Xero"),
        (IntegrationKey.SAGE, "Sage"),
    ]


async def test_the_flow_by_hand(client):
    """API.md "The flow, by hand", through the client."""
    company = await client.create_company("  Acme Ltd  ", "Expenses pilot")
    assert (company.name, company.description, company.connections) == (
        "Acme Ltd",
        "Expenses pilot",
        [],
    )
    assert company.auth_url.startswith("http://127.0.0.1:")

    auth = await client.create_connection(company.id, "QUICKBOOKS")
    assert auth.status == AuthorizationStatus.PENDING and auth.platform_name == "QuickBooks Online"
    assert (await allow(auth.auth_url)).status_code == 200
    done = await client.get_authorization(company.id, auth.id)
    assert done.status == AuthorizationStatus.COMPLETED and done.connection_id

    (connection,) = (await client.list_connections(company.id)).results
    assert connection.status == ConnectionStatus.CONNECTED and connection.id == done.connection_id
    assert (await client.get_connection(company.id, connection.id)) == connection

    unlinked = await client.unlink_connection(company.id, connection.id)
    assert unlinked.status == ConnectionStatus.DISCONNECTED
    again = await client.unlink_connection(company.id, connection.id)  # idempotent
    assert again.status == ConnectionStatus.DISCONNECTED

    reauth = await client.reauthorize_connection(company.id, connection.id)
    await allow(reauth.auth_url)
    (back,) = (await client.list_connections(company.id)).results
    assert back.id == connection.id and back.status == ConnectionStatus.CONNECTED
    with pytest.raises(ConflictError):
        await client.reauthorize_connection(company.id, connection.id)

    fetched = await client.get_company(company.id)
    assert fetched.status_counts() == {"CONNECTED": 1}

    await client.delete_connection(company.id, connection.id)
    assert (await client.list_connections(company.id)).results == []
    await client.delete_company(company.id)
    with pytest.raises(NotFoundError):
        await client.get_company(company.id)


async def test_company_link_lets_the_customer_pick(client):
    company = await client.create_company("Pick Ltd")
    async with httpx.AsyncClient() as browser:
        page = await browser.get(company.auth_url)
        assert page.status_code == 200 and "Pick Ltd" in page.text
        picked = await browser.post(company.auth_url, data={"integrationKey": "SAGE"})
        assert picked.status_code == 303  # on to the consent page: the decision is made there
        done = await browser.post(picked.headers["location"], data={"decision": "allow"})
    assert done.status_code == 200
    (connection,) = (await client.list_connections(company.id)).results
    assert connection.integration_key == "SAGE" and connection.status == "CONNECTED"


async def test_error_cases(client, sandbox):
    with pytest.raises(NotFoundError):
        await client.get_company("00000000-0000-4000-8000-000000000000")
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.create_company("x" * 101)
    assert caught.value.field_message("name")
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.create_connection((await client.create_company("A")).id, "NETSUITE")
    assert caught.value.field_message("integrationKey")

    company = await client.create_company("Twice Ltd")
    auth = await client.create_connection(company.id, "XERO")
    await allow(auth.auth_url)
    with pytest.raises(ConflictError):
        await client.create_connection(company.id, "XERO")
    used = await allow(auth.auth_url)
    assert used.status_code == 410
    with pytest.raises(GoneError):
        await client.sandbox.complete_authorization(auth.id, "allow")


async def test_wrong_keys_are_refused_with_a_clear_message(sandbox, connect):
    unknown = "sk_test_" + "Z" * 32
    async with connect(unknown, sandbox.base_url, retry=FAST) as c:
        with pytest.raises(AuthenticationError):
            await c.list_companies()
    async with connect("sk_live_" + "Z" * 32, sandbox.base_url, retry=FAST) as c:
        with pytest.raises(AuthenticationError, match=r"(?i)live"):
            await c.list_companies()


async def test_iterator_walks_all_pages(client):
    await client.sandbox.seed(230, seed=1)
    ids = [c.id async for c in client.iter_companies(page_size=50)]
    assert len(ids) == len(set(ids)) == 230
    first = await client.list_companies(page=5, page_size=50)
    assert (first.page_number, first.total_pages, len(first.results)) == (5, 5, 30)


async def test_sandbox_info_and_not_a_sandbox(client, sandbox):
    info = await client.sandbox.info()
    assert info is not None and info.sandbox


async def test_retry_after_a_burst_of_503s(client):
    await client.sandbox.set_faults(error_rate=1.0, error_status=503, error_count=2, retry_after=0)
    events: list[RequestEvent] = []
    client.on_request = events.append
    assert await client.list_companies()
    assert events[-1].retries == 2 and events[-1].status == 200


async def test_429_retry_after_is_waited_out(client):
    await client.sandbox.set_faults(error_rate=1.0, error_status=429, error_count=1, retry_after=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.list_companies()
    assert loop.time() - started >= 0.9


async def test_persistent_500_gives_a_server_error_with_correlation_id(client):
    await client.sandbox.set_faults(error_rate=1.0, error_status=500)
    with pytest.raises(ServerError) as caught:
        await client.list_companies()
    assert caught.value.correlation_id and caught.value.correlation_id in str(caught.value)
    await client.sandbox.clear_faults()


async def test_create_whose_first_reply_is_lost_makes_exactly_one_company(sandbox, connect):
    """The first attempt commits but its reply is too late; the retry, with the
    same Idempotency-Key, gets the stored reply instead of a second company."""
    async with connect(sandbox.api_key, sandbox.base_url, retry=FAST) as admin:
        await admin.sandbox.set_faults(latency_ms=700, path_prefix="/companies")
        async with connect(sandbox.api_key, sandbox.base_url, retry=FAST, timeout=0.4) as impatient:
            events: list[RequestEvent] = []
            impatient.on_request = events.append
            # Each attempt times out while the server sleeps; the last one is
            # answered once the faults are cleared below.
            task = asyncio.create_task(impatient.create_company("Exactly Once Ltd"))
            await asyncio.sleep(1.0)
            await admin.sandbox.clear_faults()
            company = await task
        page = await admin.list_companies(query="Exactly Once")
        assert [c.id for c in page.results] == [company.id]
        assert events[-1].retries >= 1 and events[-1].replayed


async def test_dead_server_is_a_connection_error(tmp_path, connect):
    sandbox = EmbeddedSandbox(tmp_path / "s").start()
    base_url, key = sandbox.base_url, sandbox.api_key
    sandbox.stop()
    async with connect(key, base_url, retry=FAST) as c:
        with pytest.raises(ApiConnectionError, match="Could not reach"):
            await c.list_companies()


async def test_everything_survives_a_restart(tmp_path, connect):
    data = tmp_path / "sandbox"
    with EmbeddedSandbox(data) as first:
        key = first.api_key
        async with connect(key, first.base_url, retry=FAST) as c:
            company = await c.create_company("Durable Ltd")
            auth = await c.create_connection(company.id, "XERO")
            await allow(auth.auth_url)
    with EmbeddedSandbox(data) as second:
        assert second.api_key == key
        async with connect(key, second.base_url, retry=FAST) as c:
            again = await c.get_company(company.id)
            assert again.name == "Durable Ltd"
            assert [x.status for x in again.connections] == [ConnectionStatus.CONNECTED]


async def test_two_processes_share_one_data_dir(tmp_path, connect):
    """Two sandboxes on one data dir (as two console processes would run them)."""
    data = tmp_path / "shared"
    with EmbeddedSandbox(data) as one, EmbeddedSandbox(data) as two:
        async with (
            connect(one.api_key, one.base_url, retry=FAST) as a,
            connect(two.api_key, two.base_url, retry=FAST) as b,
        ):
            made = await a.create_company("Seen By Both")
            assert (await b.get_company(made.id)).name == "Seen By Both"
