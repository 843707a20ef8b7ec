"""How fresh a live table is: `● live · 2s`, paused, or stale and retrying."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from s2b_tui.display import theme_colours


class LiveIndicator(Widget):
    """Redraws itself whenever what it shows changes."""

    DEFAULT_CSS = """
    LiveIndicator { width: auto; height: auto; }
    """

    #: Refreshing by itself (False: paused by the user).
    live: reactive[bool] = reactive(True, layout=True)
    #: Failed refreshes in a row: while there are any, the data is stale.
    failures: reactive[int] = reactive(0, layout=True)
    #: When the data was last refreshed.
    last_good: reactive[datetime | None] = reactive(None, layout=True)
    #: Seconds until the next attempt while stale.
    retry_seconds: reactive[float] = reactive(0.0, layout=True)

    def __init__(self, refresh_seconds: float, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.refresh_seconds = refresh_seconds

    def render(self) -> Text:
        colours = theme_colours(self.app.get_css_variables())
        if self.failures:
            since = self.last_good.strftime("%H:%M:%S") if self.last_good else "never"
            return Text(
                f"⚠ stale · last good refresh {since} · retrying every {self.retry_seconds:g}s",
                style=colours.get("warning", ""),
            )
        if self.live:
            return Text(f"● live · {self.refresh_seconds:g}s", style=colours.get("success", ""))
        return Text("❚❚ paused (p resumes)", style="dim")
