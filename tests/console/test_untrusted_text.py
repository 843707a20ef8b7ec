"""Customer text is shown exactly as typed, everywhere, and nothing a server
sends can drive the terminal."""

from __future__ import annotations

import httpx
import pytest

from s2b_tui.screens.company import CompanyScreen
from s2b_tui.screens.confirm import ConfirmScreen
from s2b_tui.widgets.keyed_table import KeyedTable
from tests.console.helpers import connect, make_client

ACCEPTED_NAMES = {
    "rich-markup": "[bold red]Acme[/] Ltd",
    "closing-tag": "Acme [/] Ltd",
    "link-markup": "[link=https://evil.example]click[/link]",
    "textual-vars": "$error $accent-muted @click=app.quit",
    "html": "<script>alert(1)</script>",
    "emoji": "🚀 Rocket Books 🧾",
    "right-to-left": "شركة المحاسبة",
    "mixed-direction": "Acme ‮dtl‬ Ltd",
    "combining": "Cafe\u0301 Ame\u0301lie",
    "quotes-backslashes": 'O\'Brien "&" Sons \\ Co',
    "hundred-chars": "W" * 100,
}


@pytest.mark.parametrize("name", list(ACCEPTED_NAMES.values()), ids=list(ACCEPTED_NAMES))
async def test_accepted_names_show_literally_everywhere(open_console, name):
    async with open_console() as console:
        client = console.app.client
        company = await client.create_company(name)
        await connect(client, company.id, "XERO")
        await console.press("r")
        await console.wait_for(lambda: company.id in console.screen.companies)
        # The list (names over 60 characters are cut with an ellipsis there).
        table = console.screen.query_one("#companies", KeyedTable)
        cell = table.get_row(company.id)[0].plain
        assert cell == name or (len(name) > 60 and cell == name[:59] + "…")
        table.select_key(company.id)
        await console.press("enter")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        screen = console.screen
        # The company header and the screen title.
        assert console.widget_text("#company-name") == name
        assert name[:50] in console.widget_text("EnvironmentBar #title")
        await console.wait_for(lambda: screen.loaded and screen.connections)
        # The unlink dialog.
        await console.press("u")
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        assert name in console.widget_text(".dialog-body")
        await console.press("escape")
        await console.wait_for(lambda: console.screen is screen)
        # A notification naming it (the delete dialog asks for the name typed).
        await console.press("escape")
        await console.press("d")
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        console.screen.query_one("#typed").value = name
        await console.press("enter")
        shown = name if len(name) <= 80 else name[:79] + "…"  # notices cut at 80
        await console.wait_for(lambda: console.notified(f"Deleted “{shown}”"))


class HostileServer(httpx.AsyncBaseTransport):
    """An API that does not follow the rules: control characters and terminal
    escape sequences in names, descriptions, platform names and errors."""

    NASTY = "Evil\x1b[2J\x1b]52;c;ZXZpbA==\x07 Co\x00\x9b31m\x7f"

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "GET" or not request.url.path.startswith("/v1/companies"):
            return response
        await response.aread()
        body = response.json()
        items = body.get("results", [body]) if isinstance(body, dict) else []
        for item in items:
            if "name" in item:
                item["name"] = self.NASTY
                item["description"] = self.NASTY + "\nsecond line"
            if "platformName" in item:
                item["platformName"] = self.NASTY
        return httpx.Response(response.status_code, json=body, headers=response.headers)


async def test_control_characters_from_a_server_never_reach_the_terminal(open_console, sandbox):
    setup = make_client(sandbox)
    company = await setup.create_company("Will Be Garbled")
    await connect(setup, company.id, "SAGE")
    await setup.aclose()
    async with open_console(client=make_client(sandbox, transport=HostileServer())) as console:
        await console.wait_for(lambda: company.id in console.screen.companies)
        cell = console.screen.query_one("#companies", KeyedTable).get_row(company.id)[0].plain
        assert cell == "Evil[2J]52;c;ZXZpbA== Co31m"
        await console.press("enter")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        screen = console.screen
        await console.wait_for(lambda: screen.loaded and screen.connections)
        shown = [
            console.widget_text("#company-name"),
            console.widget_text("#company-description"),
            console.table_text("#connections"),
            console.widget_text("EnvironmentBar #title"),
            *console.notifications,
        ]
        svg = console.screen_text()
        for text in [*shown, svg]:
            for control in ("\x1b", "\x07", "\x00", "\x9b", "\x7f"):
                assert control not in text
