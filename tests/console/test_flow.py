"""The whole onboarding flow, as a user drives it, against a real sandbox."""

from __future__ import annotations

import httpx

from s2b_tui.api import AuthorizationStatus, ConnectionStatus
from s2b_tui.screens.authorization import AuthorizationScreen
from s2b_tui.screens.companies import CompaniesScreen
from s2b_tui.screens.company import CompanyScreen
from s2b_tui.screens.confirm import ConfirmScreen
from s2b_tui.screens.create_company import CreateCompanyScreen
from s2b_tui.screens.integration_picker import IntegrationPicker
from s2b_tui.widgets.keyed_table import KeyedTable


def status_cell(console, connection_id: str) -> str:
    table = console.screen.query_one("#connections", KeyedTable)
    return table.get_row(connection_id)[1].plain


async def test_create_connect_copy_allow_unlink_reauthorize(open_console, sandbox):
    async with open_console() as console:
        app = console.app
        assert isinstance(app.screen, CompaniesScreen)

        # n → type a name → enter: the company's screen opens with its link.
        await console.press("n")
        await console.wait_for(lambda: isinstance(console.screen, CreateCompanyScreen))
        await console.type("Acme Ltd")
        await console.press("enter")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen), what="company")
        company = console.screen.company
        assert company.name == "Acme Ltd" and company.auth_url
        assert company.auth_url in console.screen_text()

        # c → 1: QuickBooks Online; the authorization screen shows the authUrl.
        await console.press("c")
        await console.wait_for(lambda: isinstance(console.screen, IntegrationPicker))
        await console.press("1")
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        auth_screen = console.screen
        auth = auth_screen.authorization
        assert auth.integration_key == "QUICKBOOKS" and auth.status == AuthorizationStatus.PENDING

        # y copies it (OSC 52 through app.clipboard), and the notice shows the URL.
        await console.press("y")
        assert app.clipboard == auth.auth_url
        await console.wait_for(lambda: console.notified(auth.auth_url), what="copy notice")

        # The customer's Allow, on the hosted Link page.
        async with httpx.AsyncClient() as browser:
            page = await browser.post(auth.auth_url, data={"decision": "allow"})
        assert page.status_code == 200

        # The screen flips by itself.
        await console.wait_for(
            lambda: auth_screen.authorization.status == AuthorizationStatus.COMPLETED,
            what="authorization completed",
        )
        await console.press("escape")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        screen = console.screen
        await console.wait_for(lambda: len(screen.connections) == 1, what="connection row")
        (connection,) = screen.connections.values()
        assert connection.status == ConnectionStatus.CONNECTED
        assert "CONNECTED" in status_cell(console, connection.id)

        # u → confirm: DISCONNECTED.
        await console.press("u")
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        assert console.screen.focused.id == "cancel"
        await console.press("y")
        await console.wait_for(
            lambda: screen.connections[connection.id].status == ConnectionStatus.DISCONNECTED,
            what="unlinked",
        )
        assert "DISCONNECTED" in status_cell(console, connection.id)

        # a: reauthorize; allow; CONNECTED again with the same id.
        await console.press("a")
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        reauth = console.screen.authorization
        assert reauth.status == AuthorizationStatus.PENDING
        async with httpx.AsyncClient() as browser:
            await browser.post(reauth.auth_url, data={"decision": "allow"})
        await console.press("escape")
        await console.wait_for(
            lambda: (
                screen.connections.get(connection.id) is not None
                and screen.connections[connection.id].status == ConnectionStatus.CONNECTED
            ),
            what="reconnected",
        )
        assert list(screen.connections) == [connection.id]


async def test_connected_appears_without_a_key_press(open_console, sandbox):
    """The live table picks up a connection the customer completes elsewhere."""
    async with open_console(refresh=0.5) as console:
        client = console.app.client
        company = await client.create_company("Live Table Ltd")
        await console.press("r")
        await console.wait_for(
            lambda: "Live Table Ltd" in console.table_text("#companies"), what="listed"
        )
        await console.press("enter")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        screen = console.screen
        await console.wait_for(lambda: screen.loaded)
        auth = await client.create_connection(company.id, "XERO")
        async with httpx.AsyncClient() as browser:
            await browser.post(auth.auth_url, data={"decision": "allow"})
        await console.wait_for(lambda: len(screen.connections) == 1, timeout=3, what="row")
        await console.wait_for(lambda: console.notified("Xero is now CONNECTED"))
