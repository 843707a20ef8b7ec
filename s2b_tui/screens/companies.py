"""The home screen: every company, paged and searched on the server."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Input, Static

from s2b_tui.api import (
    Company,
    CompanyOrder,
    NotFoundError,
    Page,
    Sync2BooksClient,
    Sync2BooksError,
)
from s2b_tui.display import connection_summary, format_time, one_line, safe_text, short_id
from s2b_tui.screens.base import ConsoleScreen
from s2b_tui.session import SessionState
from s2b_tui.widgets.environment_bar import EnvironmentBar
from s2b_tui.widgets.key_bar import KeyBar
from s2b_tui.widgets.keyed_table import KeyedTable

PAGE_SIZE = 50
SEARCH_DEBOUNCE_SECONDS = 0.3
NAME_COLUMN_LIMIT = 60

SORTS: list[tuple[CompanyOrder, str]] = [
    (CompanyOrder.CREATED_DESC, "newest first"),
    (CompanyOrder.NAME, "name A–Z"),
]


@dataclass(frozen=True)
class ListView:
    """What the table should show: the request that fills it."""

    page: int = 1
    query: str = ""
    order: CompanyOrder = CompanyOrder.CREATED_DESC


async def fetch_page(client: Sync2BooksClient, view: ListView) -> Page[Company]:
    """The page of companies `view` describes."""
    return await client.list_companies(
        page=view.page, page_size=PAGE_SIZE, query=view.query or None, order_by=view.order
    )


class CompaniesScreen(ConsoleScreen):
    """Companies: search, page, open, create, delete."""

    AUTO_FOCUS = "#companies"
    MUTATING = frozenset({"new_company", "delete_company"})
    BINDINGS = [
        Binding(
            "slash",
            "search",
            "Search",
            key_display="/",
            tooltip="Search names, or find an exact id (escape clears)",
        ),
        Binding("n", "new_company", "New", tooltip="Create a company"),
        # Not in the footer: the focused table or search box shadows it there.
        Binding(
            "enter",
            "open_company",
            "Open",
            show=False,
            tooltip="Open the selected company and its connections",
        ),
        Binding("y", "copy_id", "Copy id", tooltip="Copy the selected company's id"),
        Binding("r", "refresh", "Refresh", tooltip="Reload this page (or retry connecting)"),
        Binding("s", "cycle_sort", "Sort", tooltip="Sort by newest first, or by name"),
        Binding(
            "right_square_bracket",
            "next_page",
            "Next page",
            key_display="]",
            tooltip="Next page (pgdn too)",
        ),
        Binding(
            "left_square_bracket",
            "previous_page",
            "Prev page",
            key_display="[",
            tooltip="Previous page (pgup too)",
        ),
        # Priority: the table would otherwise take page keys for its own scrolling.
        Binding("pagedown", "next_page", "Next page", show=False, priority=True),
        Binding("pageup", "previous_page", "Prev page", show=False, priority=True),
        Binding(
            "d",
            "delete_company",
            "Delete",
            tooltip="Delete the selected company (type its name to confirm)",
        ),
        Binding("escape", "clear_search", "Clear search", show=False),
    ]

    search_box = getters.query_one("#search", Input)
    page_info = getters.query_one("#page-info", Static)
    table = getters.query_one("#companies", KeyedTable)
    message = getters.query_one("#message", Static)

    def __init__(self) -> None:
        super().__init__()
        self.view = ListView()
        self.companies: dict[str, Company] = {}
        self.total_results = 0
        self.total_pages = 1
        self._debounce: Timer | None = None
        self._shown_view: ListView | None = None
        self._loading = False
        #: The first load, started at compose, is the first "connecting"'s own.
        self._first_load_started = False
        self._mounted = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield EnvironmentBar("Companies")
        with Horizontal(id="toolbar"):
            yield Input(placeholder="Search names or ids  ( / )", id="search")
            yield Static("loading companies…", id="page-info")
        table = KeyedTable(id="companies")
        table.add_column("Name", key="name")
        table.add_column("Connections", key="connections")
        table.add_column("Created", key="created")
        table.add_column("Id", key="id")
        yield table
        yield Static("", id="message", classes="message")
        yield KeyBar()
        # Started here, not at mount: a remote API's client exists before
        # this screen is mounted, and the first page is asked for at once.
        self._first_load_started = True
        self.load()

    def on_mount(self) -> None:
        self._mounted.set()
        self.watch(self.app, "session_state", self._session_changed, init=True)

    def on_screen_resume(self) -> None:
        # Back from a company: its connection counts may have changed.
        if self.app.is_ready and self._shown_view is not None:
            self.load()

    # -- state ------------------------------------------------------------------

    def _session_changed(self, state: SessionState) -> None:
        if state is SessionState.CLOSED:
            return  # quitting
        self.refresh_bindings()
        if state is SessionState.CONNECTING:
            self._show_message(self.app.backend.describe())
            if self._shown_view is None and not self._first_load_started:
                self.load()  # as soon as the client exists (see `load`)
        elif state is SessionState.FAILED:
            self._shown_view = None  # what an early load showed is hidden: reload when ready
            error = self.app.session_error
            self._show_message(
                f"Could not connect.\n\n{error}\n\nPress r to try again, or ctrl+q to quit.",
                problem=True,
            )
        elif not (self._loading or self._shown_view):
            self.load()
        self._first_load_started = False  # a retry's "connecting" loads again

    def _show_message(self, text: str, *, problem: bool = False) -> None:
        message = self.message
        message.update(Text(text))
        message.set_class(problem, "-problem")
        message.display = True
        self.table.display = False

    def _show_table(self) -> None:
        self.message.display = False
        self.table.display = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "refresh":
            return True
        if not self.app.is_ready and action not in ("search", "clear_search"):
            return None
        return super().check_action(action, parameters)

    def data_changed(self) -> None:
        self.action_refresh()

    # -- loading ------------------------------------------------------------------

    @work(exclusive=True, group="companies")
    async def load(self) -> None:
        """Fetch the page `self.view` describes; a newer load cancels this one.

        The first load starts while the session is still being confirmed, and
        asks the moment the client exists, ahead of the session's own requests
        (see `ConsoleApp.opened_client`): the list then arrives with the
        session rather than one round trip after it. Until the session is
        ready, a failure is left to the session to explain."""
        self._loading = True
        try:
            await self._load()
        finally:
            self._loading = False

    async def _load(self) -> None:
        view = self.view
        if self._mounted.is_set():  # else it is the first load, and says so already
            self.page_info.update("loading companies…")
        client = await self.app.opened_client()
        try:
            page = await fetch_page(client, view)
        except Sync2BooksError as exc:
            await self._mounted.wait()
            info = self.page_info
            if self.app.is_ready:
                self.app.show_error("load companies", exc)
                info.update(self._describe_page() + " · load failed (r to retry)")
            else:
                info.update("")  # nothing is loading: the session says why
            return
        if page.results == [] and view.page > 1 and page.total_results > 0:
            # The list shrank under us: go to its last page instead of a blank one.
            self.view = replace(view, page=page.total_pages)
            await self._load()
            return
        await self._mounted.wait()  # the first page can come before the screen is mounted
        self.total_results = page.total_results
        self.total_pages = page.total_pages
        self._fill(page.results, same_view=(view == self._shown_view))
        self._shown_view = view
        self.page_info.update(self._describe_page())

    def _fill(self, companies: list[Company], *, same_view: bool) -> None:
        table = self.table
        self.companies = {c.id: c for c in companies}
        colours = self.app.theme_colours()
        rows = [
            (
                c.id,
                [
                    safe_text(one_line(c.name, NAME_COLUMN_LIMIT)),
                    connection_summary(c.status_counts(), colours),
                    Text(format_time(c.created_at)),
                    Text(short_id(c.id), style="dim"),
                ],
            )
            for c in companies
        ]
        if not same_view:
            table.clear()  # a new page or search: start at its top
        table.sync_rows(rows)
        if companies:
            self._show_table()
        elif self.view.query:
            self._show_message(
                f"No company matches “{one_line(self.view.query, 60)}”. "
                "Press escape to clear the search."
            )
        else:
            self._show_message("No companies yet. Press n to create the first one.")

    def _describe_page(self) -> str:
        sort_label = dict(SORTS)[self.view.order]
        noun = "company" if self.total_results == 1 else "companies"
        text = (
            f"page {self.view.page:,} of {self.total_pages:,} · "
            f"{self.total_results:,} {noun} · {sort_label}"
        )
        return text

    def _change_view(self, new_view: ListView) -> None:
        if new_view != self.view:
            self.view = new_view
            self.load()

    # -- search -------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        query = event.value.strip()
        if query == self.view.query:
            return  # already shown (escape cleared the box and reloaded at once)
        self._debounce = self.set_timer(SEARCH_DEBOUNCE_SECONDS, lambda: self._search(query))

    def _search(self, query: str) -> None:
        if self.app.is_ready:
            self._change_view(replace(self.view, query=query, page=1))

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._search(event.value.strip())
        self.table.focus()

    def action_search(self) -> None:
        self.search_box.focus()

    def action_clear_search(self) -> None:
        search = self.search_box
        if search.value:
            search.value = ""
            if self._debounce is not None:
                self._debounce.stop()
            self._search("")
        self.table.focus()

    # -- navigation ---------------------------------------------------------------

    def action_refresh(self) -> None:
        if self.app.session_state is SessionState.FAILED:
            self.app.connect()
        elif self.app.is_ready:
            self.load()

    def action_cycle_sort(self) -> None:
        orders = [order for order, _ in SORTS]
        next_order = orders[(orders.index(self.view.order) + 1) % len(orders)]
        self._change_view(replace(self.view, order=next_order, page=1))

    def action_next_page(self) -> None:
        if self.view.page < self.total_pages:
            self._change_view(replace(self.view, page=self.view.page + 1))

    def action_previous_page(self) -> None:
        if self.view.page > 1:
            self._change_view(replace(self.view, page=self.view.page - 1))

    def _selected(self) -> Company | None:
        key = self.table.selected_key
        return self.companies.get(key) if key else None

    @on(KeyedTable.RowSelected, "#companies")
    def _row_selected(self) -> None:
        self.action_open_company()

    def action_open_company(self) -> None:
        company = self._selected()
        if company is not None:
            from s2b_tui.screens.company import CompanyScreen

            self.app.push_screen(CompanyScreen(company))

    def action_copy_id(self) -> None:
        company = self._selected()
        if company is not None:
            self.app.copy_text(company.id, "company id")

    # -- create and delete ----------------------------------------------------------

    def action_new_company(self) -> None:
        from s2b_tui.screens.create_company import CreateCompanyScreen

        def created(company: Company | None) -> None:
            if company is None:
                return
            from s2b_tui.screens.company import CompanyScreen

            self.app.push_screen(CompanyScreen(company, just_created=True))

        self.app.push_screen(CreateCompanyScreen(), created)

    def action_delete_company(self) -> None:
        company = self._selected()
        if company is None:
            return
        from s2b_tui.screens.confirm import ConfirmScreen

        name = one_line(company.name)
        dialog = ConfirmScreen(
            title="Delete company",
            message=(
                f"Delete “{name}” ({short_id(company.id)})? Its connections and "
                "pending authorizations are deleted too. This cannot be undone."
            ),
            confirm_label="Delete",
            type_to_confirm=name,
        )

        self.app.ask(dialog, lambda: self._delete(company))

    def _delete(self, company: Company) -> None:
        async def call() -> None:
            # Deleted meanwhile by someone else: the outcome is the same.
            with contextlib.suppress(NotFoundError):
                await self.app.client.delete_company(company.id)

        def done(_: object) -> None:
            self.app.notify(f"Deleted “{one_line(company.name, 80)}”.", markup=False)
            self.load()

        self.app.run_api_action(f"delete “{one_line(company.name, 80)}”", call, done)
