"""A QR code drawn with half-block characters: two modules per character cell."""

from __future__ import annotations

import segno
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from textual.widgets import Static

QUIET_ZONE = 2  # modules of light border around the code (scanners need one)

# Dark modules are drawn in black on white whatever the theme: phones read
# dark-on-light codes reliably, inverted ones much less so.
_STYLE = Style(color="black", bgcolor="white")
_BLOCKS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


class QRRenderable:
    def __init__(self, data: str) -> None:
        code = segno.make(data, error="l", micro=False)
        self.matrix = [
            [bool(module) for module in row] for row in code.matrix_iter(scale=1, border=QUIET_ZONE)
        ]

    @property
    def width(self) -> int:
        return len(self.matrix[0])

    @property
    def height(self) -> int:
        """Rows of characters."""
        return (len(self.matrix) + 1) // 2

    def lines(self) -> list[str]:
        rows = self.matrix + ([[False] * self.width] if len(self.matrix) % 2 else [])
        return [
            "".join(_BLOCKS[(top, bottom)] for top, bottom in zip(upper, lower, strict=True))
            for upper, lower in zip(rows[::2], rows[1::2], strict=True)
        ]

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width, self.width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines():
            yield Segment(line, _STYLE)
            yield Segment.line()


class QRCode(Static):
    """Shows `data` as a QR code, or a line asking for a bigger terminal."""

    DEFAULT_CSS = """
    QRCode { width: auto; height: auto; }
    QRCode.-too-small { color: $text-muted; width: 30; }
    """

    def __init__(self, data: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.code = QRRenderable(data)

    def fits(self, width: int, height: int) -> bool:
        return self.code.width <= width and self.code.height <= height

    def show(self, space_width: int, space_height: int) -> None:
        if self.fits(space_width, space_height):
            self.remove_class("-too-small")
            self.update(self.code)
        else:
            self.add_class("-too-small")
            self.update(
                f"Enlarge the terminal to at least {self.code.width} × {self.code.height} "
                "free cells to see a QR code of the link."
            )
