"""The company screen: live table, unlink, reauthorize, delete, copy, pause,
the picker, the authorization screen and the sandbox controls."""

from __future__ import annotations

import httpx

from s2b_tui.api import AuthorizationStatus
from s2b_tui.screens.authorization import AuthorizationScreen
from s2b_tui.screens.companies import CompaniesScreen
from s2b_tui.screens.company import CompanyScreen
from s2b_tui.screens.confirm import ConfirmScreen
from s2b_tui.screens.integration_picker import IntegrationPicker
from s2b_tui.session import Environment, EnvironmentKind
from s2b_tui.widgets.keyed_table import KeyedTable
from tests.console.helpers import connect


async def open_company(console, name: str = "Acme Ltd", integrations=()) -> tuple:
    client = console.app.client
    company = await client.create_company(name)
    ids = {key: await connect(client, company.id, key) for key in integrations}
    await console.press("r")
    await console.wait_for(lambda: company.id in console.screen.companies, what="listed")
    console.screen.query_one(KeyedTable).select_key(company.id)
    await console.press("enter")
    await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
    screen = console.screen
    await console.wait_for(lambda: screen.loaded and len(screen.connections) == len(ids))
    return company, ids, screen


def select(screen: CompanyScreen, connection_id: str) -> None:
    assert screen.query_one("#connections", KeyedTable).select_key(connection_id)


def statuses(screen: CompanyScreen) -> dict[str, str]:
    return {cid: str(c.status) for cid, c in screen.connections.items()}


async def test_table_shows_every_status_as_word_and_symbol(open_console):
    async with open_console() as console:
        company, ids, screen = await open_company(
            console, integrations=("XERO", "SAGE", "QUICKBOOKS")
        )
        client = console.app.client
        await client.sandbox.simulate(company.id, ids["XERO"], "ERROR", message="Token expired")
        await client.unlink_connection(company.id, ids["SAGE"])
        await console.wait_for(
            lambda: (
                statuses(screen)[ids["XERO"]] == "ERROR"
                and statuses(screen)[ids["SAGE"]] == "DISCONNECTED"
            ),
            what="live update",
        )
        text = console.table_text("#connections")
        assert "● CONNECTED" in text and "✖ ERROR" in text and "○ DISCONNECTED" in text
        assert "TOKEN_EXPIRED: Token expired" in text
        # The notices are posted with the update; the app handles them just after.
        await console.wait_for(lambda: console.notified("Xero is now ERROR"))
        await console.wait_for(lambda: console.notified("Sage is now DISCONNECTED"))


async def test_unlink_dialog_names_both_and_n_or_escape_cancel(open_console):
    async with open_console() as console:
        _company, ids, screen = await open_company(console, "Harbour Café", ("XERO",))
        for cancel_key in ("n", "escape"):
            await console.press("u")
            await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
            dialog = console.screen
            body = str(dialog.query_one(".dialog-body").render())
            assert "Xero" in body and "Harbour Café" in body
            assert dialog.focused.id == "cancel"
            await console.press(cancel_key)
            await console.wait_for(lambda: console.screen is screen)
        assert statuses(screen)[ids["XERO"]] == "CONNECTED"
        # The Unlink button confirms too.
        await console.press("u")
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        await console.pilot.click("#confirm")
        await console.wait_for(lambda: statuses(screen)[ids["XERO"]] == "DISCONNECTED")


async def test_live_key_requires_typing_the_company_name_to_unlink(open_console):
    async with open_console() as console:
        _company, ids, screen = await open_company(console, "Prod Customer", ("SAGE",))
        console.app.environment = Environment(EnvironmentKind.LIVE, "api", "sk_live_…abcd")
        await console.press("u")
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        dialog = console.screen
        await console.press("y")  # a letter in the name box, not a yes
        assert console.screen is dialog and dialog.query_one("#confirm").disabled
        dialog.query_one("#typed").value = ""
        await console.type("Prod Customer")
        await console.press("enter")
        await console.wait_for(lambda: statuses(screen)[ids["SAGE"]] == "DISCONNECTED")


async def test_reauthorize_a_disconnected_connection_keeps_its_id(open_console):
    async with open_console() as console:
        company, ids, screen = await open_company(console, integrations=("QUICKBOOKS",))
        client = console.app.client
        await client.unlink_connection(company.id, ids["QUICKBOOKS"])
        await console.wait_for(lambda: statuses(screen)[ids["QUICKBOOKS"]] == "DISCONNECTED")
        await console.press("a")
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        auth_screen = console.screen
        async with httpx.AsyncClient() as browser:
            await browser.post(auth_screen.authorization.auth_url, data={"decision": "allow"})
        await console.wait_for(
            lambda: auth_screen.authorization.status == AuthorizationStatus.COMPLETED
        )
        assert "✓ Connected" in console.widget_text("#auth-status")
        await console.press("escape")
        await console.wait_for(lambda: statuses(screen) == {ids["QUICKBOOKS"]: "CONNECTED"})


async def test_reauthorize_refuses_a_connected_one(open_console):
    async with open_console() as console:
        _, _, screen = await open_company(console, integrations=("XERO",))
        await console.press("a")
        await console.pilot.pause(0.2)
        assert console.screen is screen
        assert console.notified("only a DISCONNECTED or ERROR connection can be reauthorized")


async def test_delete_connection_copy_ids_and_link(open_console):
    async with open_console() as console:
        company, ids, screen = await open_company(console, integrations=("XERO", "SAGE"))
        select(screen, ids["SAGE"])
        await console.press("y")
        assert console.app.clipboard == ids["SAGE"]
        await console.press("l")
        assert console.app.clipboard == company.auth_url
        await console.press("x")
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        await console.press("y")
        await console.wait_for(lambda: set(screen.connections) == {ids["XERO"]})
        assert len((await console.app.client.list_connections(company.id)).results) == 1


async def test_pause_stops_polling_and_r_refreshes(open_console):
    async with open_console(refresh=0.3) as console:
        company, ids, screen = await open_company(console, integrations=("XERO",))
        await console.press("p")
        assert "paused" in console.widget_text("#live-indicator")
        await console.app.client.sandbox.simulate(company.id, ids["XERO"], "ERROR")
        await console.pilot.pause(1.0)
        assert statuses(screen)[ids["XERO"]] == "CONNECTED"  # paused: not seen yet
        await console.press("r")
        await console.wait_for(lambda: statuses(screen)[ids["XERO"]] == "ERROR")
        await console.press("p")
        assert "live · 0.3s" in console.widget_text("#live-indicator")


async def test_refresh_keeps_cursor_and_makes_no_changes_when_nothing_changed(open_console):
    async with open_console(refresh=0.3) as console:
        company, ids, screen = await open_company(
            console, integrations=("QUICKBOOKS", "XERO", "SAGE")
        )
        table = screen.query_one("#connections", KeyedTable)
        select(screen, ids["SAGE"])
        updates, polls = table.total_updates, screen.polls
        await console.wait_for(lambda: screen.polls >= polls + 3, what="idle refreshes")
        assert table.selected_key == ids["SAGE"]
        assert table.total_updates == updates  # nothing changed, no cell touched
        await console.app.client.sandbox.simulate(company.id, ids["XERO"], "ERROR")
        await console.wait_for(lambda: statuses(screen)[ids["XERO"]] == "ERROR")
        assert table.selected_key == ids["SAGE"]


async def test_picker_by_arrows_and_enter_and_escape(open_console):
    async with open_console() as console:
        _company, _, screen = await open_company(console)
        await console.press("c")
        await console.wait_for(lambda: isinstance(console.screen, IntegrationPicker))
        await console.press("escape")
        await console.wait_for(lambda: console.screen is screen)
        await console.press("c")
        await console.wait_for(lambda: isinstance(console.screen, IntegrationPicker))
        await console.press("down", "down", "enter")
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        assert console.screen.authorization.integration_key == "XERO"
        assert console.screen.authorization.auth_url in console.widget_text("#auth-url")


async def test_conflict_explains_and_offers_the_existing_connection(open_console):
    async with open_console() as console:
        _company, ids, screen = await open_company(console, integrations=("QUICKBOOKS", "SAGE"))
        select(screen, ids["QUICKBOOKS"])
        await console.press("c", "4")  # Sage: already connected
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        assert "already has an active connection" in str(
            console.screen.query_one(".dialog-body").render()
        )
        await console.press("y")
        await console.wait_for(lambda: console.screen is screen)
        assert screen.query_one("#connections", KeyedTable).selected_key == ids["SAGE"]


async def test_declined_and_browser_missing(open_console, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 1 10.0.0.2 22")
    async with open_console() as console:
        _company, _, _screen = await open_company(console)
        await console.press("c", "3")
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        auth_screen = console.screen
        await console.press("o")
        await console.wait_for(lambda: console.notified("runs over SSH"))
        async with httpx.AsyncClient() as browser:
            await browser.post(auth_screen.authorization.auth_url, data={"decision": "deny"})
        await console.wait_for(
            lambda: auth_screen.authorization.status == AuthorizationStatus.DECLINED
        )
        assert "Declined" in console.widget_text("#auth-status")


async def test_refreshes_due_while_the_console_quits_do_nothing(open_console):
    """Quitting closes the session first, then waits for the sandbox to stop:
    a live refresh or an authorization check falling due meanwhile must not
    fail (it did, now and then, with a traceback on the way out)."""
    async with open_console() as console:
        _company, _, screen = await open_company(console)
        await console.press("c", "3")
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        auth_screen = console.screen
        await console.app.shutdown()
        screen.refresh_now()
        auth_screen.watch_authorization()
        await console.pilot.pause(0.2)
        assert all(worker.error is None for worker in console.app.workers)


async def test_company_deleted_elsewhere_returns_to_the_list(open_console):
    async with open_console(refresh=0.3) as console:
        company, _, _screen = await open_company(console, "Gone Soon Ltd")
        await console.app.client.delete_company(company.id)
        await console.wait_for(lambda: isinstance(console.screen, CompaniesScreen))
        # The notice is posted with the screen change; the app handles it just after.
        await console.wait_for(lambda: console.notified("“Gone Soon Ltd” was deleted"))


async def test_sandbox_palette_completes_and_simulates(open_console):
    async with open_console() as console:
        _company, _, screen = await open_company(console, "Palette Ltd")
        await console.press("c", "1")
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        auth_screen = console.screen
        await console.press("ctrl+p")
        await console.type("customer allows")
        await console.press("enter")
        await console.wait_for(
            lambda: auth_screen.authorization.status == AuthorizationStatus.COMPLETED
        )
        await console.press("escape")
        await console.wait_for(lambda: console.screen is screen and len(screen.connections) == 1)
        await console.press("ctrl+p")
        await console.type("simulate ERROR")
        await console.press("enter")
        await console.wait_for(lambda: list(statuses(screen).values()) == ["ERROR"])


async def test_untrusted_names_show_exactly_as_typed(open_console):
    name = "[bold red]x[/] <script> 🚢 שלום"
    async with open_console() as console:
        company, _ids, _screen = await open_company(console, name, ("XERO",))
        assert company.name == name
        assert name in console.widget_text("#company-name")
        await console.press("u")
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        assert name in str(console.screen.query_one(".dialog-body").render())
        await console.press("escape")
        await console.press("escape")
        await console.wait_for(lambda: isinstance(console.screen, CompaniesScreen))
        assert name in console.table_text("#companies")


async def test_read_only_greys_out_mutations_and_does_nothing(open_console, sandbox):
    from tests.console.helpers import make_client

    seed_client = make_client(sandbox)
    company = await seed_client.create_company("Look Only Ltd")
    await seed_client.aclose()
    async with open_console(client=make_client(sandbox, read_only=True)) as console:
        screen = console.screen
        await console.wait_for(lambda: company.id in screen.companies)
        assert screen.check_action("new_company", ()) is None
        assert screen.check_action("delete_company", ()) is None
        await console.press("n", "d")
        assert console.screen is screen
        await console.press("enter")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        for action in ("connect", "unlink", "reauthorize", "delete_connection"):
            assert console.screen.check_action(action, ()) is None
        await console.press("c")
        assert isinstance(console.screen, CompanyScreen)
        assert "READ-ONLY" in console.screen_text()
