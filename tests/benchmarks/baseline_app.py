"""The start-up baseline: the least a Textual app with a table can do, run the
same way as the console (`python FILE`, in the same terminal size) and
detected the same way (its one row painted)."""

from textual.app import App, ComposeResult
from textual.widgets import DataTable

ROW_TEXT = "Baseline Row Ltd"


class BaselineApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Created")
        table.add_row(ROW_TEXT, "2026-01-01 09:00")


if __name__ == "__main__":
    BaselineApp().run()
