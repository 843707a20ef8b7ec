"""The key bar: the screen's keys on one line, clickable, dimmed when they do nothing."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from s2b_tui.widgets.key_bar import KeyBar


class KeysApp(App[None]):
    BINDINGS = [
        Binding("a", "alpha", "Alpha", tooltip="The first letter"),
        Binding("b", "beta", "Beta"),
        Binding("c", "gamma", "Gamma", show=False),  # never on the bar
        Binding("x", "alpha", "Alpha again"),  # the same action: shown once
    ]

    def __init__(self) -> None:
        super().__init__()
        self.beta_enabled = True
        self.ran: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield KeyBar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "beta" and not self.beta_enabled:
            return None  # shown, dimmed
        return True

    def action_alpha(self) -> None:
        self.ran.append("alpha")

    def action_beta(self) -> None:
        self.ran.append("beta")


def _line(bar: KeyBar) -> str:
    return bar.render().plain


async def test_shows_each_action_once_with_the_palette_at_the_right_end():
    app = KeysApp()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        line = _line(app.query_one(KeyBar))
        assert line.startswith("a Alpha b Beta ")
        assert "Gamma" not in line and "again" not in line
        assert line.endswith("▏^p palette ") and len(line) == 60


async def test_clicks_run_enabled_keys_only_and_refreshes_follow_the_bindings():
    app = KeysApp()
    async with app.run_test(size=(60, 5)) as pilot:
        bar = app.query_one(KeyBar)
        await pilot.pause()
        await pilot.click(KeyBar, offset=(2, 0))  # on "Alpha"
        await pilot.click(KeyBar, offset=(9, 0))  # on "Beta"
        assert app.ran == ["alpha", "beta"]

        app.beta_enabled = False
        app.refresh_bindings()
        await pilot.pause()
        await pilot.click(KeyBar, offset=(9, 0))  # dimmed: nothing happens
        assert app.ran == ["alpha", "beta"]
        assert any(span.style == "dim" for span in bar.render().spans)

        await pilot.hover(KeyBar, offset=(0, 0))
        assert bar.tooltip == "The first letter"
        await pilot.hover(KeyBar, offset=(30, 0))  # between keys
        assert bar.tooltip is None


async def test_a_refresh_that_changes_nothing_repaints_nothing():
    app = KeysApp()
    async with app.run_test(size=(60, 5)) as pilot:
        bar = app.query_one(KeyBar)
        await pilot.pause()
        repaints = 0
        original = bar.refresh

        def counting_refresh(*args, **kwargs):
            nonlocal repaints
            repaints += 1
            return original(*args, **kwargs)

        bar.refresh = counting_refresh  # type: ignore[method-assign]
        app.refresh_bindings()
        await pilot.pause()
        assert repaints == 0
        app.beta_enabled = False
        app.refresh_bindings()
        await pilot.pause()
        assert repaints == 1
