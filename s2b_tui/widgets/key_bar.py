"""The screen's keys along the bottom, as one line."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True)
class _Key:
    key: str  # what a click simulates
    display: str
    description: str
    enabled: bool
    tooltip: str


class KeyBar(Widget):
    """What Textual's Footer shows, drawn as one line by one widget.

    The Footer is a widget per key, rebuilt whenever the screen's bindings
    are refreshed (focus moved, a key was enabled): a cost paid several times
    while the console starts. Here a refresh that changes nothing costs
    nothing, and one that does only repaints a line. As in the Footer, keys
    can be clicked, show their tooltip on hover, and are dimmed when they do
    nothing; the command palette's key sits at the right end.
    """

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
        .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-bar--hover {
            background: $block-hover-background;
        }
        .key-bar--separator {
            color: $foreground 20%;
        }
    }
    """
    COMPONENT_CLASSES = {
        "key-bar--key",
        "key-bar--description",
        "key-bar--hover",
        "key-bar--separator",
    }

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[_Key] = []
        self._palette: _Key | None = None
        #: Each drawn key's columns: (start, end, key).
        self._spans: list[tuple[int, int, _Key]] = []
        self._hovered: _Key | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        keys: list[_Key] = []
        actions: set[str] = set()
        palette = None
        for _node, binding, enabled, tooltip in screen.active_bindings.values():
            key = _Key(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                enabled,
                tooltip or binding.description,
            )
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                palette = key if self.app.ENABLE_COMMAND_PALETTE else None
            elif binding.show and binding.action not in actions:  # one key per action
                actions.add(binding.action)
                keys.append(key)
        if (keys, palette) != (self._keys, self._palette):
            self._keys, self._palette = keys, palette
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        description_style = self.get_component_rich_style("key-bar--description", partial=True)
        hover_style = self.get_component_rich_style("key-bar--hover", partial=True)
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []

        def draw(key: _Key) -> None:
            start = line.cell_len
            line.append(key.display, key_style)
            if key.description:
                line.append(f" {key.description}", description_style)
            end = line.cell_len
            if key is self._hovered:
                line.stylize(hover_style, start, end)
            if not key.enabled:
                line.stylize("dim", start, end)
            self._spans.append((start, end, key))

        for key in self._keys:
            draw(key)
            line.append(" ")
        if self._palette is not None:
            # At the right end, after a thin rule, as in Textual's Footer.
            palette = self._palette
            width = 1 + cell_len(palette.display) + 1 + cell_len(palette.description) + 1
            line.append(" " * max(0, self.size.width - line.cell_len - width))
            line.append("▏", self.get_component_rich_style("key-bar--separator", partial=True))
            draw(palette)
            line.append(" ")
        return line

    def _key_at(self, x: int) -> _Key | None:
        for start, end, key in self._spans:
            if start <= x < end:
                return key
        return None

    def on_click(self, event: events.Click) -> None:
        key = self._key_at(event.x)
        if key is None:
            return
        event.stop()
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hover(self._key_at(event.x))

    def on_leave(self, event: events.Leave) -> None:
        self._hover(None)

    def _hover(self, key: _Key | None) -> None:
        if key is not self._hovered:
            self._hovered = key
            self.tooltip = key.tooltip if key is not None else None
            self.refresh()
