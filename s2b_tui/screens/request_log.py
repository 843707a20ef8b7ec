"""The last API calls: what the console asked, how it went, how long it took."""

from __future__ import annotations

from rich.text import Text
from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from s2b_tui.app import ConsoleApp
from s2b_tui.display import one_line


class RequestLogScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "close", "Close")]

    app = getters.app(ConsoleApp)
    table = getters.query_one(DataTable)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="request-log"):
            yield Static("Request log (newest first)", classes="dialog-title")
            table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
            for label in ("Method", "Path", "Status", "ms", "Retries", "Correlation id", "Error"):
                table.add_column(label)
            yield table
            yield Static("escape closes", classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.table
        colours = self.app.theme_colours()
        for event in reversed(self.app.request_log):
            ok = event.status is not None and event.status < 400
            status = "—" if event.status is None else str(event.status)
            if event.replayed:
                status += " (replayed)"
            table.add_row(
                Text(event.method),
                Text(one_line(event.path, 60)),
                Text(status, style=colours.get("success" if ok else "error", "")),
                Text(f"{event.latency_ms:.0f}", justify="right"),
                Text(str(event.retries), justify="right"),
                Text(event.correlation_id or "—", style="dim"),
                Text(one_line(event.error or "", 80)),
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
