"""What the console's full screens share: the app as its own type, and the
keys that change data, greyed out (and refused) in read-only mode."""

from __future__ import annotations

from typing import ClassVar

from textual import getters
from textual.screen import Screen

from s2b_tui.app import ConsoleApp


class ConsoleScreen(Screen[None]):
    """A full screen of the console (the dialogs are modal screens)."""

    app = getters.app(ConsoleApp)

    #: Actions that change data: greyed out in read-only mode.
    MUTATING: ClassVar[frozenset[str]] = frozenset()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MUTATING and self.app.read_only:
            return None
        return True

    def data_changed(self) -> None:
        """What this screen shows was changed from elsewhere (a palette
        command): screens that show API data load it again."""
