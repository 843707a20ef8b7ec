"""How values look on screen. Untrusted text (names, descriptions, server
messages) always goes through `safe_text`: controls removed, never markup."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

from s2b_tui.api import ConnectionStatus
from s2b_tui.api.validation import strip_control_characters

if TYPE_CHECKING:
    from s2b_tui.api import Authorization, Connection

#: status → (symbol, theme colour variable). Meaning is never colour alone.
STATUS_LOOK: dict[str, tuple[str, str]] = {
    ConnectionStatus.CONNECTED: ("●", "success"),
    ConnectionStatus.ERROR: ("✖", "error"),
    ConnectionStatus.DISCONNECTED: ("○", "muted"),
}

#: Theme colour variables used inside table cells (Rich styles, so resolved
#: from the active theme rather than written as hex).
_CELL_ROLES = ("success", "error", "warning", "accent", "primary")


def theme_colours(css_variables: dict[str, str]) -> dict[str, str]:
    colours = {role: css_variables[role] for role in _CELL_ROLES if role in css_variables}
    colours["muted"] = "dim"
    return colours


def safe_text(value: object, style: str = "") -> Text:
    """Literal text: no markup is parsed, no terminal control gets through."""
    return Text(strip_control_characters(str(value)), style=style, end="")


def one_line(value: str, limit: int | None = None) -> str:
    """Untrusted text on one line: controls and line breaks become spaces."""
    text = " ".join(strip_control_characters(value.replace("\n", " ")).split())
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def short_id(value: str) -> str:
    return value[:8]


def platform_of(item: Connection | Authorization) -> str:
    """The accounting software's name, or its key when the API gave none."""
    return one_line(item.platform_name or str(item.integration_key), 40)


def format_time(value: datetime | None, *, empty: str = "—") -> str:
    """Local time, to the minute: stable between refreshes (no "3s ago")."""
    if value is None:
        return empty
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def status_text(status: str, colours: dict[str, str], *, extra_style: str = "") -> Text:
    symbol, role = STATUS_LOOK.get(status, ("?", "warning"))
    colour = colours.get(role, "")
    return Text(
        f"{symbol} {one_line(str(status))}", style=f"{colour} {extra_style}".strip(), end=""
    )


def connection_summary(counts: dict[str, int], colours: dict[str, str]) -> Text:
    """`1 connected · 1 error`, each part in its status colour, or `none`."""
    if not counts:
        return Text("none", style="dim", end="")
    summary = Text(end="")
    for index, (status, n) in enumerate(counts.items()):
        if index:
            summary.append(" · ", style="dim")
        role = STATUS_LOOK.get(status, ("?", "warning"))[1]
        summary.append(f"{n} {one_line(status).lower()}", style=colours.get(role, ""))
    return summary
