"""Command palette (ctrl+p): the request log, and the sandbox controls that
let QA and demos drive every status without a browser. The sandbox commands
exist only while the console talks to a sandbox.

The console's own commands are here; a screen's commands (acting on what it
shows) are on that screen, in its `COMMANDS`, built on `CommandList`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from s2b_tui.app import ConsoleApp
from s2b_tui.screens.base import ConsoleScreen


@dataclass(frozen=True)
class Command:
    title: str
    help: str
    run: Callable[[], Any]


FAULT_PRESETS: list[tuple[str, str, dict[str, Any]]] = [
    ("add 2 s latency to every call", "Slow API: each reply waits 2 seconds", {"latency_ms": 2000}),
    (
        "fail half the calls with 500",
        "Flaky API: 50 % of calls answer 500 (the client retries)",
        {"error_rate": 0.5, "error_status": 500},
    ),
    (
        "answer 503 to the next 5 calls",
        "A short outage with Retry-After",
        {"error_rate": 1.0, "error_status": 503, "error_count": 5, "retry_after": 1},
    ),
    (
        "rate-limit the next 3 calls (429)",
        "429 Too Many Requests with Retry-After",
        {"error_rate": 1.0, "error_status": 429, "error_count": 3, "retry_after": 1},
    ),
    (
        "take the API down (every call 503)",
        "Until cleared",
        {"error_rate": 1.0, "error_status": 503},
    ),
]


class CommandList(Provider):
    """A provider whose commands are a list (`commands()`), matched by title."""

    @property
    def console(self) -> ConsoleApp:
        app = self.app
        assert isinstance(app, ConsoleApp)
        return app

    @property
    def sandbox_controls(self) -> bool:
        """Whether the sandbox's QA controls may be offered."""
        return self.console.is_sandbox and not self.console.read_only

    def commands(self) -> Iterator[Command]:
        raise NotImplementedError

    def run_api_call(
        self,
        success: str | None,
        call: Callable[[], Awaitable[Any]],
        then: Callable[[Any], None],
    ) -> None:
        """Run a sandbox command; say `success` when it worked, then `then`."""

        def done(result: Any) -> None:
            if success:
                self.console.notify(success)
            then(result)

        self.console.run_api_action("run the sandbox command", call, done)

    async def discover(self) -> Hits:
        for command in self.commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)


class ConsoleCommands(CommandList):
    """The request log, and the sandbox's seeding and fault injection."""

    def commands(self) -> Iterator[Command]:
        yield Command(
            "Request log", "The last API calls: status, latency, correlation id", self._log
        )
        if not self.sandbox_controls:
            return
        sandbox = self.console.client.sandbox
        for count in (100, 10_000, 100_000):
            yield Command(
                f"Sandbox: seed {count:,} demo companies",
                "Adds realistic companies with mixed connection statuses",
                partial(
                    self._call,
                    f"Seeded {count:,} companies.",
                    partial(sandbox.seed, count, connections_per_company=2),
                ),
            )
        for title, help_text, faults in FAULT_PRESETS:
            yield Command(
                f"Sandbox faults: {title}",
                help_text,
                partial(
                    self._call,
                    f"Fault injected: {title}.",
                    partial(sandbox.set_faults, **faults),
                ),
            )
        yield Command(
            "Sandbox faults: clear",
            "Back to a healthy API",
            partial(self._call, "Faults cleared.", sandbox.clear_faults),
        )

    def _call(self, success: str, call: Callable[[], Awaitable[Any]]) -> None:
        screen = self.screen

        def show_changes(_: object) -> None:
            if isinstance(screen, ConsoleScreen):
                screen.data_changed()  # show what the command changed

        self.run_api_call(success, call, show_changes)

    def _log(self) -> None:
        from s2b_tui.screens.request_log import RequestLogScreen

        self.console.push_screen(RequestLogScreen())
