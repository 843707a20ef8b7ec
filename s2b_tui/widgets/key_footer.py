"""Textual's Footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: What the footer shows of one key: (key, action, description), and whether enabled.
Shown = tuple[tuple[str, str, str], bool]


class KeyFooter(Footer):
    """A Footer that does not rebuild itself for nothing.

    Textual's Footer removes and mounts all its keys whenever the screen's
    bindings are refreshed: focus moved, the session became ready, a row was
    highlighted. Most refreshes change nothing it shows (then this does
    nothing) or only which keys are enabled (then those keys are toggled in
    place). Rebuilding a dozen keys costs about 10 ms each time, which the
    console would otherwise pay several times while it starts.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("compact", True)
        super().__init__(**kwargs)
        self._shown: list[Shown] | None = None

    def _keys_shown(self, screen: Screen) -> list[Shown]:
        """The keys `compose` would show, in order (the palette key last)."""
        shown: list[Shown] = []
        seen_actions: set[str] = set()
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if binding.show and binding.action not in seen_actions:
                seen_actions.add(binding.action)
                shown.append(((binding.key, binding.action, binding.description), enabled))
        palette = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None and self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            _node, binding, enabled, _tooltip = palette
            shown.append(((binding.key, binding.action, "palette"), enabled))
        return shown

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return  # as Footer: it catches up on the next change
        shown = self._keys_shown(screen)
        previous, self._shown = self._shown, shown
        if shown == previous:
            return
        if previous is not None and [k for k, _ in shown] == [k for k, _ in previous]:
            # The same keys, some enabled or disabled: toggle them in place.
            enabled = {(key, action): on for (key, action, _), on in shown}
            for footer_key in self.query(FooterKey):
                on = enabled.get((footer_key.key, footer_key.action))
                if on is not None:
                    # What FooterKey itself sets when built disabled.
                    footer_key._disabled = not on
                    footer_key.set_class(not on, "-disabled")
            return
        self.call_after_refresh(self.recompose)
