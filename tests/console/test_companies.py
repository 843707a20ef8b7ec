"""The home screen's keys, against a real sandbox."""

from __future__ import annotations

from s2b_tui.screens.companies import PAGE_SIZE, CompaniesScreen
from s2b_tui.screens.company import CompanyScreen
from s2b_tui.screens.confirm import ConfirmScreen
from s2b_tui.screens.help import HelpScreen
from s2b_tui.widgets.keyed_table import KeyedTable


def page_info(console) -> str:
    return str(console.screen.query_one("#page-info").render())


def names(console) -> list[str]:
    table = console.screen.query_one("#companies", KeyedTable)
    return [table.get_row(row.key)[0].plain for row in table.ordered_rows]


async def test_empty_state_hints_at_n(open_console):
    async with open_console() as console:
        await console.wait_for(lambda: "0 companies" in page_info(console))
        assert "Press n to create the first one" in console.widget_text("#message")


async def test_paging_search_sort_and_copy(open_console, sandbox):
    async with open_console() as console:
        client = console.app.client
        await client.sandbox.seed(120, seed=3)
        for name in ("Zeta Works", "alpha omega", "Alphabet Soup Co"):
            await client.create_company(name)
        await console.press("r")
        await console.wait_for(lambda: "123 companies" in page_info(console), what="total")
        assert "page 1 of 3" in page_info(console) and "newest first" in page_info(console)
        assert names(console)[0] == "Alphabet Soup Co"  # newest first
        assert len(names(console)) == PAGE_SIZE

        # Next and previous page, by both key sets; no page beyond the last.
        await console.press("right_square_bracket")
        await console.wait_for(lambda: "page 2 of 3" in page_info(console))
        await console.press("pagedown")
        await console.wait_for(lambda: "page 3 of 3" in page_info(console))
        assert len(names(console)) == 123 - 2 * PAGE_SIZE
        await console.press("pagedown")
        await console.pilot.pause(0.2)
        assert "page 3 of 3" in page_info(console)
        await console.press("pageup", "left_square_bracket")
        await console.wait_for(lambda: "page 1 of 3" in page_info(console))

        # s: sort by name.
        await console.press("s")
        await console.wait_for(lambda: "name A–Z" in page_info(console))
        shown = names(console)
        assert shown == sorted(shown, key=str.casefold)

        # / search, debounced, on the server; case-insensitive substring.
        await console.press("slash")
        assert console.screen.focused.id == "search"
        await console.type("ALPHA")
        await console.wait_for(lambda: "2 companies" in page_info(console), what="search")
        assert names(console) == ["alpha omega", "Alphabet Soup Co"]
        await console.press("enter")  # to the table
        assert console.screen.focused.id == "companies"

        # y copies the selected company's id.
        await console.press("y")
        selected = console.screen.companies[console.screen.query_one(KeyedTable).selected_key]
        assert console.app.clipboard == selected.id

        # escape clears the search.
        await console.press("escape")
        await console.wait_for(lambda: "123 companies" in page_info(console))
        assert console.screen.query_one("#search").value == ""

        # An id finds exactly that company.
        await console.press("slash")
        await console.type(selected.id)
        await console.wait_for(lambda: "1 company ·" in page_info(console))
        assert names(console) == [selected.name]


async def test_search_that_matches_nothing_says_so(open_console):
    async with open_console() as console:
        await console.app.client.create_company("Acme Ltd")
        await console.press("slash")
        await console.type("nothing like this")
        await console.wait_for(
            lambda: "No company matches “nothing like this”" in console.widget_text("#message")
        )
        assert "0 companies" in page_info(console)


async def test_enter_opens_and_escape_returns(open_console):
    async with open_console() as console:
        await console.app.client.create_company("Open Me Ltd")
        await console.press("r")
        await console.wait_for(lambda: names(console) == ["Open Me Ltd"])
        await console.press("enter")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        assert console.screen.company.name == "Open Me Ltd"
        await console.press("escape")
        await console.wait_for(lambda: isinstance(console.screen, CompaniesScreen))


async def test_delete_requires_typing_the_name(open_console):
    async with open_console() as console:
        client = console.app.client
        await client.create_company("Keep Me")
        doomed = await client.create_company("Delete Me Ltd")
        await console.press("r")
        await console.wait_for(lambda: names(console) == ["Delete Me Ltd", "Keep Me"])

        await console.press("d")
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        dialog = console.screen
        assert dialog.query_one("#confirm").disabled
        await console.type("Delete Me")  # not the whole name
        assert dialog.query_one("#confirm").disabled
        await console.press("enter")
        assert console.screen is dialog  # not accepted
        await console.type(" Ltd")
        await console.wait_for(lambda: not dialog.query_one("#confirm").disabled, what="enabled")
        await console.press("enter")
        await console.wait_for(lambda: names(console) == ["Keep Me"], what="deleted")
        assert console.notified("Deleted “Delete Me Ltd”")
        assert (await client.list_companies(query=doomed.id)).total_results == 0


async def test_delete_cancelled_with_escape_keeps_the_company(open_console):
    async with open_console() as console:
        await console.app.client.create_company("Stay Ltd")
        await console.press("r")
        await console.wait_for(lambda: names(console) == ["Stay Ltd"])
        await console.press("d")
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        await console.press("escape")
        await console.wait_for(lambda: isinstance(console.screen, CompaniesScreen))
        assert (await console.app.client.list_companies()).total_results == 1


async def test_help_lists_the_screen_keys(open_console):
    async with open_console() as console:
        await console.press("question_mark")
        await console.wait_for(lambda: isinstance(console.screen, HelpScreen))
        text = console.screen_text()
        for fragment in ("Search", "New", "Delete", "Next", "ctrl+q"):
            assert fragment in text
        # Not on the key bar (the table's own enter shadows it), but in help.
        assert "Open the selected company" in text
        await console.press("escape")
        await console.wait_for(lambda: isinstance(console.screen, CompaniesScreen))


async def test_ctrl_q_quits(open_console):
    async with open_console() as console:
        await console.press("ctrl+q")
        await console.wait_for(lambda: not console.app.is_running, what="exit")


async def test_escape_then_paging_is_not_undone_by_the_cleared_search(open_console):
    """Clearing the search reloads at once; its debounce must not fire later
    and send the user back to page 1."""
    async with open_console() as console:
        await console.app.client.sandbox.seed(119, seed=5)
        await console.app.client.create_company("Zzyzx Ltd")
        await console.press("slash")
        await console.type("zzyzx")
        await console.wait_for(lambda: "1 company ·" in page_info(console))
        await console.press("escape")
        await console.wait_for(lambda: "120 companies" in page_info(console))
        await console.press("pagedown")
        await console.wait_for(lambda: "page 2 of 3" in page_info(console))
        await console.pilot.pause(0.6)  # past the debounce
        assert "page 2 of 3" in page_info(console)
