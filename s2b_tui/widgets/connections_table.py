"""A company's connections as a live table: one row per connection, kept in
step by keyed diff, with a row flashing for a while when its status changes."""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.text import Text

from s2b_tui.api import Connection, ConnectionStatus, IntegrationKey
from s2b_tui.display import (
    format_time,
    one_line,
    platform_of,
    safe_text,
    short_id,
    status_text,
    theme_colours,
)
from s2b_tui.widgets.keyed_table import KeyedTable

FLASH_SECONDS = 3.0
ERROR_COLUMN_LIMIT = 44  # the full message is in the detail line below the table
COLUMNS = [
    ("Integration", "integration"),
    ("Status", "status"),
    ("Since", "since"),
    ("Last sync", "last_sync"),
    ("Error", "error"),
    ("Id", "id"),
]
_INTEGRATION_ORDER = {key.value: index for index, key in enumerate(IntegrationKey)}
_STATUS_ORDER: dict[str, int] = {ConnectionStatus.CONNECTED: 0, ConnectionStatus.ERROR: 1}


def connection_sort_key(connection: Connection) -> tuple:
    """Integrations in their usual order; the active connection before history."""
    return (
        _INTEGRATION_ORDER.get(str(connection.integration_key), len(_INTEGRATION_ORDER)),
        str(connection.integration_key),
        _STATUS_ORDER.get(connection.status, 2),
        -connection.updated_at.timestamp(),
        connection.id,
    )


class ConnectionsTable(KeyedTable):
    """Shows the connections it is given; the screen decides when."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for label, key in COLUMNS:
            self.add_column(label, key=key)
        self._shown: list[Connection] = []
        self._flash_until: dict[str, float] = {}

    def show(self, connections: Iterable[Connection]) -> None:
        """Exactly these connections, sorted; only changed cells are redrawn."""
        self._shown = sorted(connections, key=connection_sort_key)
        self._draw()

    def flash(self, connection_id: str) -> None:
        """Mark a connection's row for a while (its status just changed)."""
        self._flash_until[connection_id] = time.monotonic() + FLASH_SECONDS
        self.set_timer(FLASH_SECONDS + 0.05, self._draw)

    def _draw(self) -> None:
        colours = theme_colours(self.app.get_css_variables())
        now = time.monotonic()
        self._flash_until = {k: t for k, t in self._flash_until.items() if t > now}
        rows = []
        for connection in self._shown:
            flash = "reverse" if connection.id in self._flash_until else ""
            error = connection.error
            rows.append(
                (
                    connection.id,
                    [
                        safe_text(platform_of(connection), f"bold {flash}".strip()),
                        status_text(str(connection.status), colours, extra_style=flash),
                        Text(format_time(connection.updated_at)),
                        Text(format_time(connection.last_sync_at, empty="never")),
                        safe_text(
                            one_line(f"{error.code}: {error.message}", ERROR_COLUMN_LIMIT)
                            if error
                            else "",
                            colours.get("error", ""),
                        ),
                        Text(short_id(connection.id), style="dim"),
                    ],
                )
            )
        self.sync_rows(rows)
