"""The create-company form.

Checks as you type with the API's own rules, shows the server's 422 field
errors beside their fields, asks before creating a second company of the same
name, and sends one Idempotency-Key per submission: submitting twice, or again
after a timeout, never makes two companies.
"""

from __future__ import annotations

import uuid

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from s2b_tui.api import Company, CompanyOrder, Sync2BooksError, UnprocessableEntityError
from s2b_tui.api.validation import (
    DESCRIPTION_MAX,
    NAME_MAX,
    description_problem,
    name_problem,
    normalize_name,
)
from s2b_tui.app import ConsoleApp
from s2b_tui.display import format_time, one_line

TWIN_SEARCH_SIZE = 500


class CreateCompanyScreen(ModalScreen[Company | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Create", priority=True),
    ]

    app = getters.app(ConsoleApp)
    name_input = getters.query_one("#name", Input)
    description_input = getters.query_one("#description", Input)
    form_message = getters.query_one("#form-message", Static)
    create_button = getters.query_one("#create", Button)

    def __init__(self) -> None:
        super().__init__(classes="dialog-screen")
        self._submission_key = str(uuid.uuid4())
        self._submitted_values: tuple[str, str] | None = None
        self._twin_confirmed_for: str | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="create-company"):
            yield Static("New company", classes="dialog-title")
            yield Label("Name")
            yield Input(placeholder=f"Required, up to {NAME_MAX} characters", id="name")
            yield Static("", id="name-error", classes="field-error")
            yield Label("Description (optional)")
            yield Input(placeholder=f"Up to {DESCRIPTION_MAX} characters", id="description")
            yield Static("", id="description-error", classes="field-error")
            yield Static("", id="form-message", classes="form-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create", id="create", variant="primary")
            yield Static("enter or ctrl+s creates · escape cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.name_input.focus()

    # -- values and validation ----------------------------------------------------

    def _values(self) -> tuple[str, str]:
        name = self.name_input.value
        description = self.description_input.value
        return name, description

    def _set_field_error(self, field: str, message: str | None) -> None:
        widget = self.query_one(f"#{field}-error", Static)
        widget.update(Text(f"✖ {message}") if message else "")
        widget.display = bool(message)
        self.query_one(f"#{field}", Input).set_class(bool(message), "-invalid")

    def _set_message(self, message: str, *, warning: bool = False) -> None:
        widget = self.form_message
        widget.update(Text(message))
        widget.set_class(warning, "-warning")
        widget.display = bool(message)

    def _validate(self) -> bool:
        name, description = self._values()
        name_error = name_problem(name)
        description_error = description_problem(description or None)
        self._set_field_error("name", name_error)
        self._set_field_error("description", description_error)
        return name_error is None and description_error is None

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if self._submitted_values is not None and self._values() != self._submitted_values:
            # Different values are a different submission, with a key of its own.
            self._submission_key = str(uuid.uuid4())
            self._submitted_values = None
        if event.input.id == "name" and not event.value:
            self._set_field_error("name", None)  # no scolding before any typing
        else:
            self._validate()
        self._set_message("")

    @on(Input.Submitted)
    def _input_submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#create")
    def _create_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    # -- submission ---------------------------------------------------------------

    def action_submit(self) -> None:
        if self._busy:
            return
        if not self._validate():
            return
        self._submit()

    @work(exclusive=True, group="create-company")
    async def _submit(self) -> None:
        name, description = self._values()
        clean_name = normalize_name(name)
        client = self.app.client
        self._set_busy(True)
        try:
            if self._twin_confirmed_for != clean_name.casefold():
                twin = await self._find_twin(clean_name)
                if twin is not None:
                    self._twin_confirmed_for = clean_name.casefold()
                    self._set_message(
                        f"A company named “{one_line(twin.name, 80)}” already exists "
                        f"(created {format_time(twin.created_at)}, id {twin.id[:8]}). "
                        "Press enter again to create another one with this name.",
                        warning=True,
                    )
                    return
            self._submitted_values = (name, description)
            company = await client.create_company(
                clean_name, description or None, idempotency_key=self._submission_key
            )
        except UnprocessableEntityError as exc:
            for field in ("name", "description"):
                self._set_field_error(field, exc.field_message(field))
            self._set_message(str(exc) if not exc.field_errors else "", warning=True)
            return
        except Sync2BooksError as exc:
            self._set_message(
                f"Not created: {exc} Press enter to try again; it will not make a duplicate.",
                warning=True,
            )
            return
        finally:
            self._set_busy(False)
        self.app.notify(f"Created “{one_line(company.name, 80)}”.", markup=False)
        self.dismiss(company)

    async def _find_twin(self, name: str) -> Company | None:
        """An existing company of the same name, ignoring case, among the
        first 500 whose names contain it."""
        folded = name.casefold()
        page = await self.app.client.list_companies(
            query=name, page_size=TWIN_SEARCH_SIZE, order_by=CompanyOrder.NAME
        )
        for company in page.results:
            if company.name.casefold() == folded:
                return company
        return None

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        button = self.create_button
        button.disabled = busy
        button.label = "Creating…" if busy else "Create"
