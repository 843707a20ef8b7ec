"""Command palette (ctrl+p): the request log, and the sandbox controls that
let QA and demos drive every status without a browser. The sandbox commands
exist only while the console talks to a sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from s2b_tui.api import AuthorizationStatus, ConnectionStatus
from s2b_tui.display import platform_of

if TYPE_CHECKING:
    from s2b_tui.app import ConsoleApp


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


class ConsoleCommands(Provider):
    @property
    def console(self) -> ConsoleApp:
        return self.app  # type: ignore[return-value]

    def commands(self) -> Iterator[Command]:
        app = self.console
        yield Command(
            "Request log", "The last API calls: status, latency, correlation id", self._log
        )
        if not app.is_sandbox or app.read_only:
            return
        yield from self._screen_commands()
        for count in (100, 10_000, 100_000):
            yield Command(
                f"Sandbox: seed {count:,} demo companies",
                "Adds realistic companies with mixed connection statuses",
                partial(self._call, f"Seeded {count:,} companies.", self._seed(count)),
            )
        for title, help_text, faults in FAULT_PRESETS:
            yield Command(
                f"Sandbox faults: {title}",
                help_text,
                partial(self._call, f"Fault injected: {title}.", self._faults(faults)),
            )
        yield Command(
            "Sandbox faults: clear",
            "Back to a healthy API",
            partial(self._call, "Faults cleared.", app.client.sandbox.clear_faults),
        )

    def _screen_commands(self) -> Iterator[Command]:
        from s2b_tui.screens.authorization import AuthorizationScreen
        from s2b_tui.screens.company import CompanyScreen

        screen = self.screen
        client = self.console.client
        if isinstance(screen, AuthorizationScreen):
            auth = screen.authorization
            if auth.status == AuthorizationStatus.PENDING:
                for decision, verb in (("allow", "allows"), ("deny", "denies")):
                    yield Command(
                        f"Sandbox: the customer {verb} {screen.platform}",
                        "Completes the shown authorization as the Link page would",
                        partial(
                            self._call,
                            None,
                            partial(client.sandbox.complete_authorization, auth.id, decision),
                            screen.update_authorization,
                        ),
                    )
        if isinstance(screen, CompanyScreen):
            connection = screen.selected_connection()
            if connection is None:
                return
            name = platform_of(connection)
            for status, why in (
                (ConnectionStatus.ERROR, "the access token expired"),
                (ConnectionStatus.DISCONNECTED, "the customer revoked access"),
                (ConnectionStatus.CONNECTED, "the connection recovered"),
            ):
                yield Command(
                    f"Sandbox: simulate {status} on {name}",
                    f"As if {why}",
                    partial(
                        self._call,
                        None,
                        partial(
                            client.sandbox.simulate, connection.company_id, connection.id, status
                        ),
                        lambda _: screen.refresh_now(),
                    ),
                )

    def _seed(self, count: int) -> Callable[[], Awaitable[int]]:
        return partial(self.console.client.sandbox.seed, count, connections_per_company=2)

    def _faults(self, faults: dict[str, Any]) -> Callable[[], Awaitable[dict]]:
        return partial(self.console.client.sandbox.set_faults, **faults)

    def _call(
        self,
        success: str | None,
        call: Callable[[], Awaitable[Any]],
        then: Callable[[Any], None] | None = None,
    ) -> None:
        screen = self.screen

        def done(result: Any) -> None:
            if success:
                self.console.notify(success)
            if then is not None:
                then(result)
            elif hasattr(screen, "action_refresh"):
                screen.action_refresh()  # show what the command changed

        self.console.run_api_action("run the sandbox command", call, done)

    def _log(self) -> None:
        from s2b_tui.screens.request_log import RequestLogScreen

        self.console.push_screen(RequestLogScreen())

    async def discover(self) -> Hits:
        for command in self.commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
