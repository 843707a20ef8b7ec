"""The header every screen carries: where the console is pointed."""

from __future__ import annotations

from textual import getters
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from s2b_tui.display import safe_text
from s2b_tui.session import Environment, EnvironmentKind


class EnvironmentBar(Horizontal):
    """`SANDBOX 127.0.0.1:8787 · sk_test_…wxyz` and the screen's title.

    LIVE is shown in the error colour on every screen: production is never
    one glance away from a test key.
    """

    DEFAULT_CSS = """
    EnvironmentBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    EnvironmentBar > .badge {
        width: auto;
        padding: 0 1;
        text-style: bold;
        background: $primary;
        color: $text;
    }
    EnvironmentBar > .badge.-sandbox { background: $warning; color: $text; }
    EnvironmentBar > .badge.-test { background: $success; color: $text; }
    EnvironmentBar > .badge.-live { background: $error; color: $text; text-style: bold reverse; }
    EnvironmentBar > .badge.-readonly { background: $secondary; color: $text; }
    EnvironmentBar > .badge.-pending { background: $panel-lighten-2; color: $text-muted; }
    EnvironmentBar > #where { width: auto; padding: 0 1; color: $text-muted; }
    EnvironmentBar > #title { width: 1fr; content-align: right middle; padding: 0 1; }
    """

    badge = getters.child_by_id("badge", Static)
    readonly = getters.child_by_id("readonly", Static)
    where = getters.child_by_id("where", Static)
    title = getters.child_by_id("title", Static)

    def __init__(self, title: str = "") -> None:
        super().__init__()
        self._title = title

    def compose(self) -> ComposeResult:
        yield Static("…", id="badge", classes="badge -pending")
        yield Static("", id="readonly", classes="badge -readonly")
        yield Static("", id="where")
        yield Static(safe_text(self._title), id="title")

    def on_mount(self) -> None:
        self.watch(self.app, "environment", self._show, init=True)

    def set_title(self, title: str) -> None:
        self._title = title
        if self.is_mounted:
            self.title.update(safe_text(title))

    def _show(self, environment: Environment | None) -> None:
        badge, readonly, where = self.badge, self.readonly, self.where
        badge.remove_class("-pending", "-sandbox", "-test", "-live")
        if environment is None:
            badge.update("S2B")
            badge.add_class("-pending")
            readonly.display = False
            where.update("")
            return
        label = {
            EnvironmentKind.SANDBOX: "SANDBOX",
            EnvironmentKind.TEST: "TEST",
            EnvironmentKind.LIVE: "● LIVE",
        }[environment.kind]
        badge.update(label)
        badge.add_class(f"-{environment.kind.value.lower()}")
        readonly.update("READ-ONLY · changes are off (--read-only)")
        readonly.display = environment.read_only
        where.update(safe_text(f"{environment.host} · {environment.masked_key}"))
