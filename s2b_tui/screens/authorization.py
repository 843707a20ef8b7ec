"""The hand-off: the authUrl to send the customer, as text, link and QR code,
and the authorization watched until the customer acts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widgets import Static

from s2b_tui.api import Authorization, AuthorizationStatus, Company, NotFoundError, Sync2BooksError
from s2b_tui.commands import Command, CommandList
from s2b_tui.desktop import open_in_browser
from s2b_tui.display import format_time, one_line, platform_of, safe_text
from s2b_tui.screens.base import ConsoleScreen
from s2b_tui.widgets.environment_bar import EnvironmentBar
from s2b_tui.widgets.key_bar import KeyBar
from s2b_tui.widgets.qr_code import QRCode

WATCH_SECONDS = 1.0
INFO_MIN_WIDTH = 40  # what the text column keeps beside the QR code


def now() -> datetime:
    return datetime.now(UTC)


def describe_expiry(expires_at: datetime | None, at: datetime) -> str:
    if expires_at is None:
        return "Single-use link."
    left = (expires_at - at).total_seconds()
    when = format_time(expires_at)
    if left <= 0:
        return f"The link expired at {when}."
    minutes = int(left // 60)
    remaining = f"{minutes} min" if minutes else f"{int(left)} s"
    return f"Single-use link, expires {when} (in {remaining})."


class CustomerCommands(CommandList):
    """Sandbox: the customer's answer on the Link page, without a browser."""

    def commands(self) -> Iterator[Command]:
        screen = self.screen
        assert isinstance(screen, AuthorizationScreen)
        auth = screen.authorization
        if not self.sandbox_controls or auth.status != AuthorizationStatus.PENDING:
            return
        sandbox = self.console.client.sandbox
        for decision, verb in (("allow", "allows"), ("deny", "denies")):
            yield Command(
                f"Sandbox: the customer {verb} {screen.platform}",
                "Completes the shown authorization as the Link page would",
                partial(
                    self.run_api_call,
                    None,
                    partial(sandbox.complete_authorization, auth.id, decision),
                    screen.update_authorization,
                ),
            )


class AuthorizationScreen(ConsoleScreen):
    COMMANDS = {CustomerCommands}
    BINDINGS = [
        Binding("escape", "back", "Back to connections"),
        Binding("y", "copy_url", "Copy link"),
        Binding("o", "open_url", "Open in browser"),
    ]

    auth_url = getters.query_one("#auth-url", Static)
    auth_status = getters.query_one("#auth-status", Static)
    auth_expiry = getters.query_one("#auth-expiry", Static)
    auth_body = getters.query_one("#auth-body", Horizontal)
    qr_code = getters.query_one("#qr", QRCode)

    def __init__(self, company: Company, authorization: Authorization) -> None:
        super().__init__()
        self.company = company
        self.authorization = authorization
        self._timer: Timer | None = None

    @property
    def platform(self) -> str:
        return platform_of(self.authorization)

    def compose(self) -> ComposeResult:
        company = one_line(self.company.name, 50)
        yield EnvironmentBar(f"Authorize · {company} → {self.platform}")
        with Vertical(id="auth-top"):
            yield Static(
                safe_text(f"Connect “{company}” to {self.platform}", "bold"),
                id="auth-title",
            )
            yield Static(
                Text(
                    "Send this link to the customer, or open it here. They sign in to "
                    f"{self.platform} and allow access; this screen follows along."
                ),
                id="auth-explain",
            )
            yield Static(id="auth-url")
        with Horizontal(id="auth-body"):
            with Vertical(id="auth-info"):
                yield Static(id="auth-status")
                yield Static(id="auth-expiry")
                yield Static(
                    Text("y copy link · o open in browser · escape back", style="dim"),
                    id="auth-keys",
                )
            yield QRCode(self.authorization.auth_url, id="qr")
        yield KeyBar()

    def on_mount(self) -> None:
        url = self.authorization.auth_url
        self.auth_url.update(Text(one_line(url), style=f"bold underline link {url}"))
        self._show_state()
        self._schedule()

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._fit_qr)

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self._fit_qr)

    def _fit_qr(self) -> None:
        body = self.auth_body.content_size
        self.qr_code.show(body.width - INFO_MIN_WIDTH, body.height)

    # -- watching the hand-off ----------------------------------------------------------

    def _schedule(self) -> None:
        if self.authorization.status == AuthorizationStatus.PENDING and self.is_attached:
            self._timer = self.set_timer(WATCH_SECONDS, self.watch_authorization)

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    @work(exclusive=True, group="authorization")
    async def watch_authorization(self) -> None:
        if not self.app.is_ready:
            return  # the console is quitting: a timer fired after the session closed
        auth = self.authorization
        try:
            fresh = await self.app.client.get_authorization(auth.company_id, auth.id)
        except NotFoundError:
            self.app.notify(
                "This authorization no longer exists (the company or connection was deleted).",
                severity="warning",
                markup=False,
            )
            self._timer = None
            return
        except Sync2BooksError:
            fresh = auth  # keep watching; the connection table reports API trouble
        self.update_authorization(fresh)
        self._schedule()

    def update_authorization(self, authorization: Authorization) -> None:
        changed = authorization.status != self.authorization.status
        self.authorization = authorization
        self._show_state()
        if changed and authorization.status != AuthorizationStatus.PENDING:
            messages: dict[str, str] = {
                AuthorizationStatus.COMPLETED: f"{self.platform} is now CONNECTED",
                AuthorizationStatus.DECLINED: f"The customer declined {self.platform}",
                AuthorizationStatus.EXPIRED: f"The {self.platform} link expired",
            }
            message = messages.get(authorization.status, f"Authorization is {authorization.status}")
            severity: SeverityLevel = (
                "information"
                if authorization.status == AuthorizationStatus.COMPLETED
                else "warning"
            )
            self.app.notify(message, severity=severity, markup=False)

    def _show_state(self) -> None:
        auth = self.authorization
        colours = self.app.theme_colours()
        self.auth_expiry.update(Text(describe_expiry(auth.expires_at, now()), style="dim"))
        look: dict[str, tuple[str, str]] = {
            AuthorizationStatus.PENDING: ("◌ Waiting for the customer…", "accent"),
            AuthorizationStatus.COMPLETED: (
                f"✓ Connected. {self.platform} is now CONNECTED. Escape returns to the table.",
                "success",
            ),
            AuthorizationStatus.DECLINED: (
                "✗ Declined. The customer denied access; press escape and connect again.",
                "error",
            ),
            AuthorizationStatus.EXPIRED: (
                "⌛ Expired. The link can no longer be used; press escape and connect again.",
                "warning",
            ),
        }
        text, role = look.get(auth.status, (f"? {one_line(str(auth.status))}", "warning"))
        self.auth_status.update(Text(text, style=f"bold {colours.get(role, '')}".strip()))

    # -- keys -------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def action_copy_url(self) -> None:
        self.app.copy_text(self.authorization.auth_url, "authorization link")

    def action_open_url(self) -> None:
        self._open_url()

    @work(thread=True, group="browser")
    def _open_url(self) -> None:
        outcome = open_in_browser(self.authorization.auth_url)
        message = "Opened the link in your browser." if outcome.ok else outcome.detail
        severity = "information" if outcome.ok else "warning"
        self.app.call_from_thread(self.app.notify, message, severity=severity, markup=False)
