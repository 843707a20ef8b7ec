"""The console application: settings, the injected backend, global keys.

Everything that talks to the API runs in workers; screens own their data.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen

from s2b_tui.api import Sync2BooksClient, Sync2BooksError
from s2b_tui.api.client import RequestEvent
from s2b_tui.config import DEFAULT_REFRESH_SECONDS, Settings
from s2b_tui.desktop import copy_with_pyperclip
from s2b_tui.display import one_line, theme_colours
from s2b_tui.session import (
    Backend,
    Environment,
    Session,
    SessionState,
    backend_for,
    open_session,
)
from s2b_tui.startup import resume_gc

if TYPE_CHECKING:
    from textual.command import Provider

    from s2b_tui.sandbox.process import SandboxProcess

REQUEST_LOG_SIZE = 500
#: Garbage collection, paused while the console starts, resumes this long after.
STARTUP_SECONDS = 1.0


def _console_commands() -> type[Provider]:
    """The console's palette commands, loaded when the palette first opens."""
    from s2b_tui.commands import ConsoleCommands

    return ConsoleCommands


class ConsoleApp(App[None]):
    """The Sync2Books onboarding console."""

    TITLE = "Sync2Books"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {_console_commands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    #: Where the console points; None until the session is open.
    environment: reactive[Environment | None] = reactive(None)
    #: How far the session is; `is_ready` says whether the API can be used.
    session_state: reactive[SessionState] = reactive(SessionState.CONNECTING)

    def __init__(
        self,
        backend: Backend,
        *,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        copy_to_system: Callable[[str], Any] = copy_with_pyperclip,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.refresh_seconds = refresh_seconds
        self.session: Session | None = None
        self._client: Sync2BooksClient | None = None
        self._client_opened = asyncio.Event()
        self.session_error: Sync2BooksError | None = None
        self.request_log: deque[RequestEvent] = deque(maxlen=REQUEST_LOG_SIZE)
        self._copy_to_system = copy_to_system

    # -- session ----------------------------------------------------------------

    @property
    def client(self) -> Sync2BooksClient:
        if self._client is None:
            raise RuntimeError("The session is not open yet")
        return self._client

    async def opened_client(self) -> Sync2BooksClient:
        """The client as soon as it exists, before the session is confirmed:
        a screen's first page can load alongside the session's own requests.

        Whoever waits here when the client arrives resumes ahead of the
        session's requests: the home screen's first page is the console's
        first request."""
        await self._client_opened.wait()
        return self.client

    def _opened(self, client: Sync2BooksClient) -> None:
        self._client = client
        self._client_opened.set()

    @property
    def is_ready(self) -> bool:
        return self.session_state is SessionState.READY

    @property
    def is_sandbox(self) -> bool:
        return self.session is not None and self.session.sandbox is not None

    @property
    def is_live(self) -> bool:
        return self.environment is not None and self.environment.is_live

    @property
    def read_only(self) -> bool:
        return self.backend.read_only

    def get_default_screen(self) -> Screen:
        """The companies list is the bottom screen itself: no empty default
        screen is composed, laid out and drawn under it first."""
        from s2b_tui.screens.companies import CompaniesScreen

        self.environment = self.backend.preview()
        return CompaniesScreen()

    def on_mount(self) -> None:
        self.connect()
        # Start-up is over by then, however it went (see `startup`).
        self.set_timer(STARTUP_SECONDS, resume_gc)

    @work(exclusive=True, group="session")
    async def connect(self) -> None:
        """Open the session: start the sandbox or reach the API, learn where we are."""
        self.session_error = None
        self.session_state = SessionState.CONNECTING
        try:
            session = await open_session(
                self.backend, on_request=self.request_log.append, on_client=self._opened
            )
        except Sync2BooksError as exc:
            self.session_error = exc
            self.session_state = SessionState.FAILED
            return
        except Exception as exc:  # the embedded sandbox could not start, say
            self.session_error = Sync2BooksError(f"Could not start: {one_line(str(exc), 300)}")
            self.session_state = SessionState.FAILED
            return
        self.session = session
        self.environment = session.environment
        self.session_state = SessionState.READY
        if session.integrations_note:
            self.notify(session.integrations_note, severity="warning", markup=False)

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit()

    async def shutdown(self) -> None:
        """Close the client and stop the embedded sandbox (idempotent)."""
        self.workers.cancel_all()  # a first page still on its way too
        self.session = None
        self.session_state = SessionState.CLOSED
        self._client_opened.clear()
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
        await self.backend.close()

    async def on_unmount(self) -> None:
        await self.shutdown()

    # -- shared services for screens ---------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications carry names and messages from the API: never markup,
        unless a caller passes only its own text and asks for it."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def theme_colours(self) -> dict[str, str]:
        return theme_colours(self.get_css_variables())

    def show_error(self, doing: str, error: Exception) -> None:
        """An API error as a short notification; never markup, never a traceback."""
        message = str(error) if isinstance(error, Sync2BooksError) else one_line(repr(error))
        self.notify(f"Could not {doing}. {message}", severity="error", timeout=8, markup=False)

    def copy_text(self, text: str, what: str) -> None:
        """Copy by OSC 52 at once (reaches the clipboard over SSH and in tmux),
        and through the system clipboard in a thread that cannot hang the UI."""
        self.copy_to_clipboard(text)
        self._copy_to_system_clipboard(text, what)

    @work(thread=True, group="clipboard")
    def _copy_to_system_clipboard(self, text: str, what: str) -> None:
        outcome = self._copy_to_system(text)
        shown = one_line(text, 200)
        if outcome.ok:
            message = f"Copied {what}: {shown}"
        else:
            message = (
                f"Copied {what} through the terminal (OSC 52): {shown}\n"
                f"(System clipboard: {outcome.detail}.)"
            )
        self.call_from_thread(self.notify, message, markup=False, title="Copied")

    def ask(self, dialog: Screen[bool], on_yes: Callable[[], None]) -> None:
        """Show a confirmation dialog; run `on_yes` only if the user confirms."""
        self.push_screen(dialog, lambda yes: on_yes() if yes else None)

    def run_api_action(
        self,
        doing: str,
        call: Callable[[], Awaitable[Any]],
        on_done: Callable[[Any], None] | None = None,
    ) -> None:
        """Run one API call in a worker; errors become notifications."""
        self._run_api_action(doing, call, on_done)

    @work(group="actions")
    async def _run_api_action(
        self,
        doing: str,
        call: Callable[[], Awaitable[Any]],
        on_done: Callable[[Any], None] | None,
    ) -> None:
        try:
            result = await call()
        except Sync2BooksError as exc:
            self.show_error(doing, exc)
            return
        if on_done is not None:
            on_done(result)

    def action_help(self) -> None:
        from s2b_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))


def make_app(settings: Settings, sandbox: SandboxProcess | None = None) -> ConsoleApp:
    """The one factory the command line and the tests share; `sandbox` is the
    embedded sandbox's process if already started."""
    return ConsoleApp(backend_for(settings, sandbox), refresh_seconds=settings.refresh_seconds)
