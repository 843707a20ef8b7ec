"""The footer rebuilds itself only when the keys it shows change."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from s2b_tui.widgets.key_footer import KeyFooter


class FooterApp(App[None]):
    BINDINGS = [
        Binding("a", "alpha", "Alpha"),
        Binding("b", "beta", "Beta"),
        Binding("c", "gamma", "Gamma", show=False),  # never in the footer
    ]
    ENABLE_COMMAND_PALETTE = False
    enabled = True

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "beta" and not self.enabled:
            return None  # shown, greyed out
        return True


async def test_rebuilds_only_when_the_keys_change():
    app = FooterApp()
    async with app.run_test() as pilot:
        footer = app.query_one(KeyFooter)
        rebuilt = 0
        original = footer.recompose

        async def counting_recompose() -> None:
            nonlocal rebuilt
            rebuilt += 1
            await original()

        footer.recompose = counting_recompose  # type: ignore[method-assign]
        await pilot.pause()

        def keys() -> dict[str, bool]:
            return {k.key: not k.has_class("-disabled") for k in footer.query(FooterKey)}

        assert keys() == {"a": True, "b": True}
        before = list(footer.query(FooterKey))

        app.refresh_bindings()  # nothing changed
        await pilot.pause()
        assert rebuilt == 0

        app.enabled = False  # one key greyed out: toggled in place
        app.refresh_bindings()
        await pilot.pause()
        assert rebuilt == 0 and keys() == {"a": True, "b": False}
        assert list(footer.query(FooterKey)) == before
        await pilot.press("b")  # a greyed-out key does nothing
        app.enabled = True
        app.refresh_bindings()
        await pilot.pause()
        assert keys() == {"a": True, "b": True}

        app.bind("d", "delta", description="Delta")  # a new key: rebuilt
        app.refresh_bindings()
        await pilot.pause()
        assert rebuilt == 1 and set(keys()) == {"a", "b", "d"}
