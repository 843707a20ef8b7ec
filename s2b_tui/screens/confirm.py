"""Confirmation for destructive actions. Focus starts on Cancel; where a slip
would hurt (deleting, or unlinking with a LIVE key) the user types the name."""

from __future__ import annotations

from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from s2b_tui.display import safe_text


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("n", "cancel", "No", show=False),
        Binding("y", "confirm", "Yes", show=False),
    ]

    typed = getters.query_one("#typed", Input)
    cancel_button = getters.query_one("#cancel", Button)
    confirm_button = getters.query_one("#confirm", Button)

    def __init__(
        self,
        *,
        title: str,
        message: str,
        confirm_label: str,
        type_to_confirm: str | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.message = message
        self.confirm_label = confirm_label
        self.type_to_confirm = type_to_confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -danger"):
            yield Static(safe_text(self.title_text), classes="dialog-title")
            yield Static(safe_text(self.message), classes="dialog-body")
            if self.type_to_confirm is not None:
                yield Label(safe_text(f"Type “{self.type_to_confirm}” to confirm:"))
                yield Input(id="typed", placeholder=self.type_to_confirm)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="default")
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error",
                    disabled=self.type_to_confirm is not None,
                )
            hint = "enter confirms" if self.type_to_confirm else "y confirms · n or escape cancels"
            yield Static(hint, classes="dialog-hint")

    def on_mount(self) -> None:
        if self.type_to_confirm is not None:
            self.typed.focus()
        else:
            self.cancel_button.focus()

    def _typed_ok(self) -> bool:
        if self.type_to_confirm is None:
            return True
        return self.typed.value.strip() == self.type_to_confirm.strip()

    @on(Input.Changed, "#typed")
    def _typed_changed(self) -> None:
        self.confirm_button.disabled = not self._typed_ok()

    @on(Input.Submitted, "#typed")
    def _typed_submitted(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self._typed_ok():
            self.dismiss(True)
