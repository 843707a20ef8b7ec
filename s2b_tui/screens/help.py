"""`?`: the keys of the screen underneath, and what the console is for."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

GLOBAL_KEYS = [
    ("?", "This help"),
    ("ctrl+p", "Command palette (themes, sandbox controls, request log)"),
    ("ctrl+q", "Quit"),
]

ABOUT = (
    "Create each customer as a company, connect it to its accounting software, and "
    "watch the connection go live. A badge in the header always says where you are: "
    "SANDBOX (local, safe), TEST, or LIVE (production, shown in red)."
)


def _key_label(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    names = {
        "slash": "/",
        "question_mark": "?",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "pagedown": "pgdn",
        "pageup": "pgup",
    }
    return " ".join(names.get(key, key) for key in binding.key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__(classes="dialog-screen")
        self.under = under

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for binding in self.under.BINDINGS:
            if not isinstance(binding, Binding):
                continue  # the console declares every key as a Binding
            # The footer's keys, and the hidden ones worth a tooltip.
            if binding.description and (binding.show or binding.tooltip):
                table.add_row(_key_label(binding), binding.tooltip or binding.description)
        for key, description in GLOBAL_KEYS:
            table.add_row(key, description)
        screen_name = self.under.__class__.__name__.removesuffix("Screen") or "Console"
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(f"Help · {screen_name}", classes="dialog-title")
            yield Static(Text(ABOUT), classes="dialog-body")
            yield Static(table)
            yield Static("escape or ? closes", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
