"""Helpers of the console tests: the real app driven by its pilot, against a
real sandbox on loopback (the fixtures that use them are in conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot

from s2b_tui.api import RetryPolicy, Sync2BooksClient
from s2b_tui.app import ConsoleApp
from s2b_tui.desktop import Outcome
from s2b_tui.sandbox import EmbeddedSandbox
from s2b_tui.session import ClientBackend, sandbox_client

SIZE = (120, 36)
FAST_RETRY = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.05, retry_after_cap=0.2)


class Console:
    """A running app with its pilot, the notifications it showed, and helpers."""

    def __init__(self, app: ConsoleApp, pilot: Pilot[None], notifications: list[str]) -> None:
        self.app = app
        self.pilot = pilot
        self.notifications = notifications

    async def wait_for(
        self, predicate: Callable[[], object], timeout: float = 8.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or predicate}")
            await self.pilot.pause(0.03)

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.pilot.pause()

    async def type(self, text: str) -> None:
        await self.pilot.press(*[c if c != " " else "space" for c in text])
        await self.pilot.pause()  # as `press`: the app has acted on the last key

    def notified(self, fragment: str) -> bool:
        return any(fragment in n for n in self.notifications)

    @property
    def screen(self) -> Any:
        """The current screen; `Any`, as tests reach into whichever screen it is."""
        return self.app.screen

    def screen_text(self) -> str:
        """The screen as an SVG, spaces decoded: for "is this text visible" checks."""
        return self.app.export_screenshot().replace("&#160;", " ")

    def widget_text(self, selector: str) -> str:
        return str(self.screen.query_one(selector).render())

    def table_text(self, selector: str) -> str:
        """Every cell of a table, row by row, as plain text."""
        table = self.screen.query_one(selector)
        return "\n".join(
            " | ".join(getattr(cell, "plain", str(cell)) for cell in table.get_row(row.key))
            for row in table.ordered_rows
        )


async def connect(client: Sync2BooksClient, company_id: str, key: str) -> str:
    """Connect an integration as the customer's Allow would; its connection id."""
    auth = await client.create_connection(company_id, key)
    done = await client.sandbox.complete_authorization(auth.id, "allow")
    assert done.connection_id is not None, done
    return done.connection_id


def make_client(sandbox: EmbeddedSandbox, **kwargs: Any) -> Sync2BooksClient:
    """A client of the test's sandbox, made as the console makes its embedded
    sandbox's (`sandbox_client`); with `transport=`, a plain client over that."""
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("timeout", 5.0)
    make = Sync2BooksClient if "transport" in kwargs else sandbox_client
    return make(sandbox.api_key, sandbox.base_url, **kwargs)


def no_system_clipboard(text: str) -> Outcome:
    return Outcome(False, "no clipboard in tests")


def note_notifications(app: ConsoleApp, notifications: list[str]) -> None:
    """Note each of the app's notifications in `notifications` as it is raised.

    Textual shows a notification once the app's message queue reaches it, a
    moment after `notify`: a test that waited for what the app did next (a
    screen dismissed, a table updated) must find the notification raised
    before it, so it is noted when posted, not when the queue gets to it."""
    post = app.post_message

    def post_noting(message: Message) -> bool:
        if isinstance(message, Notify):
            # Messages carry customer names: they must never be parsed as markup.
            assert message.notification.markup is False, message.notification.message
            notifications.append(str(message.notification.message))
        return post(message)

    app.post_message = post_noting  # type: ignore[method-assign]


@asynccontextmanager
async def run_console(
    sandbox: EmbeddedSandbox,
    copy_to_system: Callable[[str], Outcome] = no_system_clipboard,
    *,
    client: Sync2BooksClient | None = None,
    refresh: float = 0.5,
    ready: bool = True,
    size: tuple[int, int] = SIZE,
) -> AsyncIterator[Console]:
    """Run the app (against `sandbox` unless given another `client`) until its
    session is ready and its first page shown (unless `ready=False`)."""
    notifications: list[str] = []
    app = ConsoleApp(
        ClientBackend(client or make_client(sandbox)),
        refresh_seconds=refresh,
        copy_to_system=copy_to_system,
    )
    note_notifications(app, notifications)
    async with app.run_test(size=size) as pilot:
        console = Console(app, pilot, notifications)
        if ready:
            await console.wait_for(lambda: app.session_state == "ready", what="session")
            # And the first page is shown: what a test adds next is not in it.
            await console.wait_for(
                lambda: console.widget_text("#page-info").startswith("page "),
                what="the first page",
            )
            # And drawn: a widget updated a moment ago (the environment bar's
            # badge, say) reaches the screen once the screen has refreshed.
            await console.pilot.pause()
        yield console
        await app.shutdown()
        await asyncio.sleep(0)
