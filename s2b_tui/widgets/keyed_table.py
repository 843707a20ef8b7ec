"""A DataTable updated by keyed diff, never clear-and-refill, so the cursor and
scroll stay where the user left them while live data changes underneath."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.text import Text
from textual.widgets import DataTable

Row = tuple[str, Sequence[RenderableType]]


def _same_cell(a: object, b: object) -> bool:
    if isinstance(a, Text) and isinstance(b, Text):
        # Text.__eq__ ignores the base style, which is how a status is coloured.
        return a.plain == b.plain and a.style == b.style and a.spans == b.spans
    return a == b


class KeyedTable(DataTable):
    """Rows are keyed by a stable id (a company or connection id)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        #: Cell updates made by the last `sync_rows` (0 when nothing changed).
        self.last_sync_updates = 0
        #: Cell updates made since the table was created.
        self.total_updates = 0

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return row_key.value

    def select_key(self, key: str) -> bool:
        try:
            index = self.get_row_index(key)
        except Exception:  # RowDoesNotExist: the row went away meanwhile
            return False
        self.move_cursor(row=index, animate=False)
        return True

    def sync_rows(self, rows: Sequence[Row]) -> int:
        """Show exactly `rows`, in order, changing only what differs."""
        wanted = [key for key, _ in rows]
        wanted_set = set(wanted)
        column_keys = list(self.columns.keys())
        updates = 0
        with self.app.batch_update():
            for row in list(self.ordered_rows):
                if row.key.value not in wanted_set:
                    self.remove_row(row.key)
                    updates += 1
            for key, cells in rows:
                if key in self.rows:
                    for column_key, old, new in zip(
                        column_keys, self.get_row(key), cells, strict=True
                    ):
                        if not _same_cell(old, new):
                            self.update_cell(key, column_key, new, update_width=True)
                            updates += 1
                else:
                    self.add_row(*cells, key=key)
                    updates += len(cells)
            current = [row.key.value for row in self.ordered_rows]
            if current != wanted:
                self._reorder(rows)
        self.last_sync_updates = updates
        self.total_updates += updates
        return updates

    def _reorder(self, rows: Sequence[Row]) -> None:
        """Rebuild in the wanted order, keeping the selected row and the scroll."""
        selected = self.selected_key
        scroll_x, scroll_y = self.scroll_x, self.scroll_y
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if selected is not None:
            self.select_key(selected)
        self.scroll_to(scroll_x, scroll_y, animate=False, immediate=True)
