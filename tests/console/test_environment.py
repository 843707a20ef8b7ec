"""Where the console is pointed, and what it does when the API is not a sandbox."""

from __future__ import annotations

import httpx
import pytest

from s2b_tui.commands import ConsoleCommands
from s2b_tui.screens.authorization import AuthorizationScreen
from s2b_tui.screens.companies import CompaniesScreen
from s2b_tui.screens.company import CompanyScreen
from s2b_tui.session import EnvironmentKind
from tests.console.helpers import make_client


class NotASandbox(httpx.AsyncBaseTransport):
    """A real API in front of the sandbox, minus everything sandbox-only:
    `/v1/sandbox…` answers 404 the way production does."""

    def __init__(self, broken_paths: tuple[str, ...] = ()) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.broken_paths = broken_paths
        self.sandbox_calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/v1/sandbox"):
            self.sandbox_calls += 1
            return httpx.Response(404, json={"statusCode": 404, "error": "Not found"})
        if any(path.startswith(p) for p in self.broken_paths):
            return httpx.Response(500, json={"statusCode": 500, "error": "Down"})
        return await self.inner.handle_async_request(request)


async def command_titles(console) -> list[str]:
    provider = ConsoleCommands(console.screen)
    return [c.title for c in provider.commands()]


async def test_sandbox_badge_and_controls(open_console):
    async with open_console() as console:
        assert console.app.environment.kind is EnvironmentKind.SANDBOX
        # The header is redrawn on the frame after the session opens.
        await console.wait_for(lambda: "SANDBOX" in console.screen_text(), what="the badge")
        titles = await command_titles(console)
        assert any(t.startswith("Sandbox faults:") for t in titles)


async def test_a_test_api_shows_test_and_hides_sandbox_controls(open_console, sandbox):
    transport = NotASandbox()
    client = make_client(sandbox, transport=transport)
    async with open_console(client=client) as console:
        environment = console.app.environment
        assert environment.kind is EnvironmentKind.TEST
        assert environment.masked_key.startswith("sk_test_…")
        assert sandbox.api_key not in console.screen_text()
        assert not console.app.is_sandbox
        assert await command_titles(console) == ["Request log"]
        # Everything the console does still works without the sandbox endpoints.
        await console.press("n")
        await console.type("Real Api Ltd")
        await console.press("enter")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        await console.press("c", "3")
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        assert transport.sandbox_calls == 1  # the one probe at start


async def test_integrations_fall_back_to_the_built_in_four(open_console, sandbox):
    client = make_client(sandbox, transport=NotASandbox(broken_paths=("/v1/integrations",)))
    async with open_console(client=client) as console:
        names = [i.name for i in console.app.session.integrations]
        assert names == ["QuickBooks Online", "QuickBooks Desktop", "Xero", "Sage"]
        await console.wait_for(lambda: console.notified("built-in integrations"))


@pytest.mark.parametrize(("size", "shows_qr"), [((120, 36), True), ((80, 24), False)])
async def test_qr_code_only_when_it_fits(open_console, size, shows_qr):
    async with open_console(size=size) as console:
        company = await console.app.client.create_company("Small Screen Ltd")
        auth = await console.app.client.create_connection(company.id, "XERO")
        console.app.push_screen(AuthorizationScreen(company, auth))
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        await console.pilot.pause(0.1)
        qr = console.screen.query_one("#qr")
        assert qr.has_class("-too-small") is not shows_qr
        text = console.widget_text("#qr")
        assert ("Enlarge the terminal" in text) is not shows_qr
        assert auth.auth_url in console.widget_text("#auth-url")


async def test_notifications_show_names_literally(open_console):
    name = "[bold red]Boom[/] [link=http://x]y[/link]"
    async with open_console() as console:
        await console.app.client.create_company(name)
        await console.press("r")
        screen = console.screen
        assert isinstance(screen, CompaniesScreen)
        await console.wait_for(lambda: len(screen.companies) == 1)
        await console.press("d")
        await console.pilot.pause()
        console.screen.query_one("#typed").value = name
        await console.press("enter")
        await console.wait_for(lambda: console.notified(f"Deleted “{name}”"))
