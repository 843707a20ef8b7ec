"""One company and its live connections.

The table refreshes itself: each poll schedules the next one when it ends, so
a slow API never stacks requests; a cycle is skipped while a dialog is open;
failures keep the last data on screen, marked stale, and back off.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widgets import Static

from s2b_tui.api import (
    Authorization,
    Company,
    ConflictError,
    Connection,
    ConnectionStatus,
    NotFoundError,
    Sync2BooksError,
)
from s2b_tui.commands import Command, CommandList
from s2b_tui.display import format_time, one_line, platform_of, safe_text, short_id
from s2b_tui.screens.base import ConsoleScreen
from s2b_tui.widgets.connections_table import ConnectionsTable
from s2b_tui.widgets.environment_bar import EnvironmentBar
from s2b_tui.widgets.key_bar import KeyBar
from s2b_tui.widgets.live_indicator import LiveIndicator

MAX_BACKOFF_SECONDS = 30.0


class ConnectionCommands(CommandList):
    """Sandbox: what could happen to the selected connection, made to happen."""

    def commands(self) -> Iterator[Command]:
        screen = self.screen
        assert isinstance(screen, CompanyScreen)
        if not self.sandbox_controls:
            return
        connection = screen.selected_connection()
        if connection is None:
            return
        name = platform_of(connection)
        sandbox = self.console.client.sandbox
        for status, why in (
            (ConnectionStatus.ERROR, "the access token expired"),
            (ConnectionStatus.DISCONNECTED, "the customer revoked access"),
            (ConnectionStatus.CONNECTED, "the connection recovered"),
        ):
            yield Command(
                f"Sandbox: simulate {status} on {name}",
                f"As if {why}",
                partial(
                    self.run_api_call,
                    None,
                    partial(sandbox.simulate, connection.company_id, connection.id, status),
                    lambda _: screen.refresh_now(),
                ),
            )


class CompanyScreen(ConsoleScreen):
    """A company's header and its live connection table."""

    AUTO_FOCUS = "#connections"
    COMMANDS = {ConnectionCommands}
    MUTATING = frozenset({"connect", "unlink", "reauthorize", "delete_connection"})
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Back to the company list"),
        Binding(
            "c",
            "connect",
            "Connect",
            tooltip="Connect an integration: pick one, get its authorization link",
        ),
        Binding(
            "u",
            "unlink",
            "Unlink",
            tooltip="Unlink (deauthorize) the selected connection, after confirming",
        ),
        Binding(
            "a",
            "reauthorize",
            "Reauth",
            tooltip="Reauthorize the selected DISCONNECTED or ERROR connection (enter too)",
        ),
        Binding(
            "x",
            "delete_connection",
            "Delete",
            tooltip="Delete the selected connection for good, after confirming",
        ),
        Binding("y", "copy_connection_id", "Copy id", tooltip="Copy the selected connection's id"),
        Binding(
            "l",
            "copy_company_link",
            "Copy link",
            tooltip="Copy the company link, where the customer picks any integration",
        ),
        Binding("r", "refresh", "Refresh", tooltip="Refresh the connections now"),
        Binding("p", "toggle_live", "Pause", tooltip="Pause or resume the live refresh"),
    ]

    table = getters.query_one("#connections", ConnectionsTable)
    indicator = getters.query_one("#live-indicator", LiveIndicator)
    detail = getters.query_one("#connection-detail", Static)
    connections_title = getters.query_one("#connections-title", Static)
    message = getters.query_one("#message", Static)

    def __init__(self, company: Company, *, just_created: bool = False) -> None:
        super().__init__()
        self.company = company
        self.just_created = just_created
        self.connections: dict[str, Connection] = {}
        self.live = True
        self.loaded = False
        self.last_good: datetime | None = None
        self.failures = 0
        self.polls = 0  # successful refreshes, for tests and benchmarks
        self._poll_timer: Timer | None = None
        self._gone = False  # deleted by someone else while on screen

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield EnvironmentBar(f"Company · {one_line(self.company.name, 60)}")
        with Vertical(id="company-header"):
            yield Static(id="company-name")
            yield Static(id="company-meta")
            yield Static(id="company-description")
            yield Static(id="company-link")
        with Horizontal(id="connections-bar"):
            yield Static("Connections", id="connections-title")
            yield LiveIndicator(self.app.refresh_seconds, id="live-indicator")
        yield ConnectionsTable(id="connections")
        yield Static("", id="connection-detail")
        yield Static("", id="message", classes="message")
        yield KeyBar()

    def on_mount(self) -> None:
        self._show_company()
        self._show_message("loading connections…")
        self.poll()

    def on_screen_resume(self) -> None:
        # Back from the authorization screen or a dialog: show the news at once.
        if self._gone:
            self.dismiss()
        elif self.loaded:
            self.refresh_now()

    def on_unmount(self) -> None:
        self._cancel_timer()

    def _show_company(self) -> None:
        company = self.company
        self.query_one("#company-name", Static).update(safe_text(company.name, "bold"))
        self.query_one("#company-meta", Static).update(
            Text(f"id {company.id} · created {format_time(company.created_at)}", style="dim")
        )
        description = self.query_one("#company-description", Static)
        description.update(safe_text(company.description or ""))
        description.display = bool(company.description)
        link = self.query_one("#company-link", Static)
        if company.auth_url:
            text = Text("Company link ", style="bold")
            text.append(one_line(company.auth_url), style=f"underline link {company.auth_url}")
            text.append("  (l copies; the customer picks any integration there)", style="dim")
            link.update(text)
        else:
            link.update(Text("No company link from the API.", style="dim"))

    def _show_message(self, text: str) -> None:
        message = self.message
        message.update(Text(text))
        message.display = bool(text)

    # -- live polling -------------------------------------------------------------

    def _cancel_timer(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None

    def _schedule_next(self) -> None:
        self._cancel_timer()
        if not self.live or not self.is_attached:
            return
        self._poll_timer = self.set_timer(self.next_delay(), self._tick)

    def next_delay(self) -> float:
        """The refresh interval, doubled per failure in a row (up to a cap)."""
        delay = self.app.refresh_seconds
        if self.failures:
            delay = min(MAX_BACKOFF_SECONDS, delay * (2**self.failures))
        return delay

    def _tick(self) -> None:
        self._poll_timer = None
        if not self.is_current:
            # A dialog or another screen is on top: skip this cycle.
            self._schedule_next()
            return
        self.poll()

    def refresh_now(self) -> None:
        self._cancel_timer()
        self.poll()

    @work(exclusive=True, group="connections")
    async def poll(self) -> None:
        if not self.app.is_ready:
            return  # the console is quitting: a timer fired after the session closed
        client = self.app.client
        try:
            connections = await client.all_connections(self.company.id)
        except NotFoundError:
            self._company_gone()
            return
        except Sync2BooksError as exc:
            self.failures += 1
            if self.failures == 1:  # once per outage, not once per retry
                self.app.show_error("refresh the connections", exc)
            self._update_indicator(error=exc)
            if not self.loaded:
                self._show_message(f"Could not load connections. {exc}\n\nPress r to retry.")
            self._schedule_next()
            return
        if self.failures:
            self.app.notify("Connection to the API is back.", markup=False)
        self.failures = 0
        self.polls += 1
        self.last_good = datetime.now().astimezone()
        self._apply(connections)
        self._update_indicator()
        self._schedule_next()

    def _company_gone(self) -> None:
        self._cancel_timer()
        self.live = False
        self.app.notify(
            f"“{one_line(self.company.name, 80)}” was deleted (by someone else?). "
            "Back to the company list.",
            severity="warning",
            markup=False,
            timeout=8,
        )
        self._gone = True
        if self.is_current:
            self.dismiss()

    def _apply(self, connections: list[Connection]) -> None:
        """Merge fresh data: notify about status changes, then diff the table."""
        fresh = {c.id: c for c in connections}
        if self.loaded and fresh == self.connections:
            # The usual poll: nothing changed, nothing to redraw.
            self.table.last_sync_updates = 0
            return
        if self.loaded:
            for connection in connections:
                before = self.connections.get(connection.id)
                if before is None or before.status != connection.status:
                    self._announce(connection, is_new=before is None)
            for gone in self.connections.keys() - fresh.keys():
                self.app.notify(
                    f"The {platform_of(self.connections[gone])} connection was deleted "
                    "(by someone else?).",
                    severity="warning",
                )
        self.connections = fresh
        self.loaded = True
        self._render_rows()

    def _announce(self, connection: Connection, *, is_new: bool) -> None:
        self.table.flash(connection.id)
        name = platform_of(connection)
        status = one_line(str(connection.status))
        message = f"{name} is now {status}" + (" (new connection)" if is_new else "")
        severity: SeverityLevel = (
            "error" if connection.status == ConnectionStatus.ERROR else "information"
        )
        self.app.notify(message, severity=severity, markup=False)

    def _render_rows(self) -> None:
        if not self.is_attached:
            return
        count = len(self.connections)
        self.table.show(self.connections.values())
        self.table.display = bool(count)
        self._show_detail()
        if count:
            self._show_message("")
        elif self.just_created:
            self._show_message(
                "No connections yet. Send the customer the company link above "
                "(l copies it), or press c to connect an integration now."
            )
        else:
            self._show_message("No connections yet. Press c to connect an integration.")
        self.connections_title.update(Text(f"Connections ({count})", style="bold"))

    @on(ConnectionsTable.RowHighlighted, "#connections")
    def _show_detail(self) -> None:
        """The highlighted connection in full: what the table's columns cut short."""
        detail = self.detail
        connection = self.selected_connection()
        detail.display = connection is not None
        if connection is None:
            return
        text = Text()
        text.append(platform_of(connection), style="bold")
        text.append(f" · {one_line(str(connection.status))} · id {connection.id}")
        text.append(
            f" · created {format_time(connection.created_at)}"
            f" · updated {format_time(connection.updated_at)}",
            style="dim",
        )
        if connection.error is not None:
            error = connection.error
            text.append("\n")
            text.append(
                f"{one_line(error.code)}: {one_line(error.message)}"
                + (f" (since {format_time(error.occurred_at)})" if error.occurred_at else ""),
                style=self.app.theme_colours().get("error", ""),
            )
        detail.update(text)

    def _update_indicator(self, error: Sync2BooksError | None = None) -> None:
        indicator = self.indicator
        indicator.live = self.live
        indicator.failures = self.failures
        indicator.last_good = self.last_good
        indicator.retry_seconds = self.next_delay()
        indicator.tooltip = str(error) if error else None

    # -- actions ---------------------------------------------------------------------

    def data_changed(self) -> None:
        self.action_refresh()

    def selected_connection(self) -> Connection | None:
        key = self.table.selected_key
        return self.connections.get(key) if key else None

    def action_back(self) -> None:
        self._cancel_timer()
        self.dismiss()

    def action_refresh(self) -> None:
        self.refresh_now()

    def action_toggle_live(self) -> None:
        self.live = not self.live
        if self.live:
            self.refresh_now()
        else:
            self._cancel_timer()
        self._update_indicator()

    def action_copy_connection_id(self) -> None:
        connection = self.selected_connection()
        if connection is not None:
            self.app.copy_text(connection.id, "connection id")

    def action_copy_company_link(self) -> None:
        if self.company.auth_url:
            self.app.copy_text(self.company.auth_url, "company link")

    def action_connect(self) -> None:
        from s2b_tui.screens.integration_picker import IntegrationPicker

        session = self.app.session
        if session is None:
            return  # the console is quitting
        active = {
            str(c.integration_key): str(c.status) for c in self.connections.values() if c.is_active
        }

        def picked(key: str | None) -> None:
            if key is not None:
                self._create_connection(key)

        self.app.push_screen(
            IntegrationPicker(session.integrations, active, self.company.name), picked
        )

    @work(group="connect")
    async def _create_connection(self, integration_key: str) -> None:
        try:
            authorization = await self.app.client.create_connection(
                self.company.id, integration_key
            )
        except ConflictError as exc:
            self._explain_conflict(integration_key, exc)
            return
        except NotFoundError:
            self._company_gone()
            return
        except Sync2BooksError as exc:
            self.app.show_error("start the connection", exc)
            return
        self._open_authorization(authorization)

    def _open_authorization(self, authorization: Authorization) -> None:
        from s2b_tui.screens.authorization import AuthorizationScreen

        self.app.push_screen(AuthorizationScreen(self.company, authorization))

    def _explain_conflict(self, integration_key: str, error: ConflictError) -> None:
        from s2b_tui.screens.confirm import ConfirmScreen

        existing = next(
            (
                c
                for c in self.connections.values()
                if str(c.integration_key) == integration_key and c.is_active
            ),
            None,
        )
        name = existing.platform_name if existing else integration_key
        status = f" ({existing.status})" if existing else ""
        dialog = ConfirmScreen(
            title="Already connected",
            message=(
                f"{name} already has an active connection{status} for "
                f"“{one_line(self.company.name, 80)}”: {error.message}. "
                "Unlink it first to connect again. Open the existing connection?"
            ),
            confirm_label="Open it",
        )

        def answered(open_it: bool | None) -> None:
            if open_it and existing is not None:
                self.table.select_key(existing.id)
                self.table.focus()

        self.app.push_screen(dialog, answered)

    def action_unlink(self) -> None:
        connection = self.selected_connection()
        if connection is None:
            return
        if connection.status == ConnectionStatus.DISCONNECTED:
            self.app.notify(f"{platform_of(connection)} is already disconnected.")
            return
        self._ask_destructive(
            "Unlink connection",
            f"Unlink {platform_of(connection)} from “{one_line(self.company.name)}”? "
            "The customer's authorization is revoked and syncing stops until they reauthorize.",
            "Unlink",
            lambda: self._unlink(connection),
        )

    def _unlink(self, connection: Connection) -> None:
        def done(updated: Connection) -> None:
            self.connections[updated.id] = updated
            self._render_rows()
            self.app.notify(f"Unlinked {platform_of(updated)}: now {updated.status}.")

        self.app.run_api_action(
            f"unlink {platform_of(connection)}",
            lambda: self.app.client.unlink_connection(self.company.id, connection.id),
            done,
        )

    def action_reauthorize(self) -> None:
        connection = self.selected_connection()
        if connection is None:
            return
        if connection.status == ConnectionStatus.CONNECTED:
            self.app.notify(
                f"{platform_of(connection)} is connected; only a DISCONNECTED or ERROR "
                "connection can be reauthorized.",
                markup=False,
            )
            return
        self.app.run_api_action(
            f"reauthorize {platform_of(connection)}",
            lambda: self.app.client.reauthorize_connection(self.company.id, connection.id),
            self._open_authorization,
        )

    def action_delete_connection(self) -> None:
        connection = self.selected_connection()
        if connection is None:
            return
        self._ask_destructive(
            "Delete connection",
            f"Delete the {platform_of(connection)} connection "
            f"({connection.status}, {short_id(connection.id)}) of "
            f"“{one_line(self.company.name)}”? This is permanent.",
            "Delete",
            lambda: self._delete_connection(connection),
        )

    def _ask_destructive(
        self, title: str, message: str, confirm_label: str, on_yes: Callable[[], None]
    ) -> None:
        """Confirm first; with a LIVE key the company name must be typed."""
        from s2b_tui.screens.confirm import ConfirmScreen

        name = one_line(self.company.name)
        dialog = ConfirmScreen(
            title=title,
            message=message,
            confirm_label=confirm_label,
            type_to_confirm=name if self.app.is_live else None,
        )
        self.app.ask(dialog, on_yes)

    def _delete_connection(self, connection: Connection) -> None:
        async def call() -> None:
            # Already gone: the outcome is the same.
            with contextlib.suppress(NotFoundError):
                await self.app.client.delete_connection(self.company.id, connection.id)

        def done(_: object) -> None:
            self.connections.pop(connection.id, None)
            self._render_rows()
            self.app.notify(f"Deleted the {platform_of(connection)} connection.")

        self.app.run_api_action(f"delete {platform_of(connection)}", call, done)

    @on(ConnectionsTable.RowSelected, "#connections")
    def _row_selected(self) -> None:
        """Enter on a row: reauthorize when it needs it."""
        connection = self.selected_connection()
        needs_it = connection is not None and connection.status != ConnectionStatus.CONNECTED
        if needs_it and not self.app.read_only:
            self.action_reauthorize()
