"""Faults the console survives, each against the real app and a real sandbox:
a dead API at start, an API that dies and comes back, error bursts, rate
limits, latency, timeouts, replies that are not JSON, things deleted by
someone else, and two consoles on one sandbox."""

from __future__ import annotations

import httpx
import pytest

from s2b_tui.api import RetryPolicy, Sync2BooksClient
from s2b_tui.sandbox import EmbeddedSandbox
from s2b_tui.screens.companies import CompaniesScreen
from s2b_tui.screens.company import CompanyScreen
from s2b_tui.screens.create_company import CreateCompanyScreen
from s2b_tui.widgets.keyed_table import KeyedTable
from tests.console.helpers import FAST_RETRY, connect, make_client


def page_info(console) -> str:
    return console.widget_text("#page-info")


async def open_company(console, company_id: str) -> CompanyScreen:
    await console.press("r")
    await console.wait_for(lambda: company_id in console.screen.companies, what="listed")
    console.screen.query_one(KeyedTable).select_key(company_id)
    await console.press("enter")
    await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
    screen = console.screen
    await console.wait_for(lambda: screen.loaded)
    return screen


async def test_api_unreachable_at_start_then_retry(open_console, tmp_path, loopback_port):
    """Nothing listens: a clear message and a retry key; r works once it is up."""
    port = loopback_port
    data = tmp_path / "late"
    with EmbeddedSandbox(data) as first:
        key = first.api_key  # a key the late sandbox will accept
    client = Sync2BooksClient(key, f"http://127.0.0.1:{port}/v1", retry=FAST_RETRY, timeout=2)
    async with open_console(client=client, ready=False) as console:
        await console.wait_for(lambda: console.app.session_state == "failed", what="failure")
        message = console.widget_text("#message")
        assert "Could not reach the API at 127.0.0.1" in message
        assert "Press r to try again" in message
        assert "Traceback" not in console.screen_text()
        with EmbeddedSandbox(data, port=port):
            await console.press("r")
            await console.wait_for(lambda: console.app.session_state == "ready", what="retry")
            await console.wait_for(lambda: "0 companies" in page_info(console))


async def test_api_dies_mid_session_and_comes_back(open_console, tmp_path, loopback_port):
    port = loopback_port
    data = tmp_path / "flaky"
    server = EmbeddedSandbox(data, port=port).start()
    client = Sync2BooksClient(
        server.api_key,
        server.base_url,
        retry=RetryPolicy(max_retries=0),
        timeout=1,
    )
    company = await client.create_company("Resilient Ltd")
    await connect(client, company.id, "XERO")
    try:
        async with open_console(client=client, refresh=0.3) as console:
            screen = await open_company(console, company.id)
            assert len(screen.connections) == 1
            server.stop()
            await console.wait_for(lambda: screen.failures >= 2, what="failures")
            indicator = console.widget_text("#live-indicator")
            assert "stale · last good refresh" in indicator
            # Backing off: the next wait is longer than the refresh interval.
            assert screen.next_delay() > 0.3 * 2
            # The last data stays on screen.
            assert "Xero" in console.table_text("#connections")
            assert console.notified("Could not refresh the connections")
            server = EmbeddedSandbox(data, port=port).start()
            await console.wait_for(lambda: screen.failures == 0, timeout=15, what="recovery")
            assert "live · 0.3s" in console.widget_text("#live-indicator")
            assert console.notified("Connection to the API is back")
    finally:
        server.stop()


@pytest.mark.parametrize(
    "faults",
    [
        {"error_rate": 1.0, "error_status": 500},
        {"error_rate": 1.0, "error_status": 503, "retry_after": 0},
        {"error_rate": 1.0, "error_status": 429, "retry_after": 0},
    ],
    ids=["500", "503", "429"],
)
async def test_error_bursts_give_a_short_message_with_correlation_id(open_console, faults):
    async with open_console() as console:
        client = console.app.client
        await client.sandbox.set_faults(**faults)
        await console.press("r")
        await console.wait_for(lambda: console.notified("Could not load companies"))
        message = next(n for n in console.notifications if "Could not load companies" in n)
        assert "correlation id" in message and len(message) < 400
        await client.sandbox.clear_faults()
        await console.press("r")
        await console.wait_for(lambda: "load failed" not in page_info(console))


async def test_a_short_burst_is_retried_without_the_user_noticing(open_console):
    async with open_console() as console:
        client = console.app.client
        await client.create_company("Still Here Ltd")
        await client.sandbox.set_faults(
            error_rate=1.0, error_status=503, error_count=2, retry_after=0
        )
        await console.press("r")
        await console.wait_for(lambda: "1 company" in page_info(console))
        assert not console.notified("Could not")


async def test_latency_and_timeouts(open_console, sandbox):
    client = make_client(sandbox, timeout=0.5, retry=RetryPolicy(max_retries=1, backoff_base=0.01))
    async with open_console(client=client) as console:
        await client.sandbox.set_faults(latency_ms=2000, path_prefix="/companies")
        await console.press("r")
        await console.wait_for(lambda: console.notified("timed out"), timeout=10)
        await client.sandbox.set_faults(latency_ms=300, path_prefix="/companies")
        await console.press("r")
        await console.wait_for(lambda: "0 companies" in page_info(console))
        assert "load failed" not in page_info(console)


class Garbled(httpx.AsyncBaseTransport):
    """Passes calls to the sandbox, but garbles the companies list when told."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.reply: httpx.Response | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.reply is not None and request.url.path == "/v1/companies":
            return self.reply
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(
            200, text="<html>502 Bad Gateway</html>", headers={"X-Correlation-Id": "c-1"}
        ),
        httpx.Response(200, json={"results": [{"id": 1}], "totalResults": "many"}),
        httpx.Response(200, json=[1, 2, 3]),
        httpx.Response(200, content=b""),
    ],
    ids=["html", "missing-fields", "wrong-shape", "empty"],
)
async def test_replies_that_are_not_json_or_miss_fields(open_console, sandbox, reply):
    transport = Garbled()
    async with open_console(client=make_client(sandbox, transport=transport)) as console:
        transport.reply = reply
        await console.press("r")
        await console.wait_for(lambda: console.notified("Could not load companies"))
        assert isinstance(console.screen, CompaniesScreen)
        transport.reply = None
        await console.press("r")
        await console.wait_for(lambda: "0 companies" in page_info(console))


async def test_connection_deleted_by_someone_else(open_console):
    async with open_console(refresh=0.3) as console:
        client = console.app.client
        company = await client.create_company("Shared Ltd")
        connection_id = await connect(client, company.id, "SAGE")
        screen = await open_company(console, company.id)
        await client.delete_connection(company.id, connection_id)
        await console.wait_for(lambda: screen.connections == {}, what="row gone")
        assert console.notified("The Sage connection was deleted")
        assert "No connections yet" in console.widget_text("#message")


async def test_unlinking_a_connection_deleted_meanwhile_is_a_notice(open_console):
    async with open_console(refresh=60) as console:
        client = console.app.client
        company = await client.create_company("Race Ltd")
        connection_id = await connect(client, company.id, "XERO")
        screen = await open_company(console, company.id)
        await client.delete_connection(company.id, connection_id)
        await console.press("u", "y")
        await console.wait_for(lambda: console.notified("Could not unlink Xero"))
        assert console.screen is screen


async def test_two_consoles_on_one_sandbox_see_each_other(open_console, sandbox, tmp_path):
    """A second console process: another sandbox server on the same data dir."""
    with EmbeddedSandbox(sandbox.store.data_dir) as other_process:
        other = Sync2BooksClient(other_process.api_key, other_process.base_url, retry=FAST_RETRY)
        async with open_console(refresh=0.3) as console:
            made = await other.create_company("Made Elsewhere Ltd")
            await console.press("r")
            await console.wait_for(lambda: made.id in console.screen.companies)
            screen = await open_company(console, made.id)
            await connect(other, made.id, "QUICKBOOKS")
            await console.wait_for(lambda: len(screen.connections) == 1, what="seen")
        await other.aclose()


async def test_create_form_keeps_the_input_when_the_api_fails(open_console):
    async with open_console() as console:
        await console.app.client.sandbox.set_faults(
            error_rate=1.0, error_status=500, path_prefix="/companies"
        )
        await console.press("n")
        await console.wait_for(lambda: isinstance(console.screen, CreateCompanyScreen))
        await console.type("Keep My Typing Ltd")
        await console.press("enter")
        await console.wait_for(lambda: "Not created" in console.widget_text("#form-message"))
        assert console.screen.query_one("#name").value == "Keep My Typing Ltd"
        await console.app.client.sandbox.clear_faults()
        await console.press("enter")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
