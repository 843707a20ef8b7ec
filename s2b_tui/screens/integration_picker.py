"""Pick the accounting software to connect: arrows and enter, or 1–4."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from s2b_tui.api import Integration
from s2b_tui.display import one_line, safe_text


class IntegrationPicker(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        *[Binding(str(n), f"pick({n - 1})", f"Pick {n}", show=False) for n in range(1, 10)],
    ]

    def __init__(
        self, integrations: list[Integration], active: dict[str, str], company_name: str
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.integrations = integrations
        self.active = active  # integration key → status of its active connection
        self.company_name = company_name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="picker"):
            yield Static(
                safe_text(f"Connect “{one_line(self.company_name, 60)}” to…"),
                classes="dialog-title",
            )
            options = []
            for number, integration in enumerate(self.integrations, start=1):
                label = Text()
                label.append(f"{number}  " if number < 10 else "   ", style="bold")
                label.append(one_line(integration.name, 40))
                label.append(f"  {one_line(str(integration.key), 30)}", style="dim")
                status = self.active.get(str(integration.key))
                if status:
                    label.append(f"  already {one_line(status).lower()}", style="italic")
                options.append(Option(label, id=str(integration.key)))
            yield OptionList(*options, id="integrations")
            yield Static("↑↓ and enter, or 1–4 · escape cancels", classes="dialog-hint")

    def action_pick(self, index: int) -> None:
        if 0 <= index < len(self.integrations):
            self.dismiss(str(self.integrations[index].key))

    @on(OptionList.OptionSelected, "#integrations")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
