"""Output of the headless commands: human tables, JSON and CSV on stdout.

Every list is streamed: a table's columns have fixed widths but the last,
JSON arrays and CSV are written item by item, so `--all` of 100,000
companies starts printing at once and holds one page in memory.

Untrusted text (names, descriptions, server messages) reaches a terminal only
through `one_line` (no control characters, no line breaks); JSON and CSV carry
values exactly as the API gave them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from rich.cells import cell_len

from s2b_tui.display import one_line

GREEN, RED, YELLOW, DIM, BOLD = "32", "31", "33", "2", "1"

#: Status → colour. Meaning is never colour alone: the word is always there.
STATUS_COLOURS = {
    "CONNECTED": GREEN,
    "COMPLETED": GREEN,
    "ERROR": RED,
    "DECLINED": RED,
    "EXPIRED": RED,
    "DISCONNECTED": DIM,
    "PENDING": YELLOW,
}


def paint(text: str, sgr: str | None, enabled: bool) -> str:
    return f"\x1b[{sgr}m{text}\x1b[0m" if enabled and sgr else text


def status_colour(value: str) -> str | None:
    return STATUS_COLOURS.get(value)


def iso(value: datetime | None) -> str:
    """A timestamp as the API writes it (UTC, `Z`); empty for none."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def local_minute(value: datetime | None) -> str:
    """A timestamp for people: local time, to the minute."""
    if value is None:
        return "—"
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Field:
    """One column: its title in a table, its header in CSV, its value."""

    title: str
    csv: str
    value: Callable[[Any], str]
    width: int | None = None  # in a table; None for the last column (as wide as it is)
    colour: Callable[[str], str | None] | None = None
    in_table: bool = True
    human: Callable[[Any], str] | None = None  # a table's text, when not `value`


class ListWriter:
    """Writes items as a table, a JSON array or CSV, one at a time.

    `fmt`: None (a table), "json", "jsonl" (one object a line) or "csv".
    `to_json(item)` gives an item's JSON object."""

    def __init__(
        self,
        out: IO[str],
        fields: list[Field],
        fmt: str | None,
        *,
        to_json: Callable[[Any], Any],
        color: bool = False,
        header: bool = True,
    ) -> None:
        self.out = out
        self.fields = fields
        self.table_fields = [f for f in fields if f.in_table]
        self.fmt = fmt
        self.to_json = to_json
        self.color = color
        self.count = 0
        self._csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        self._header = header
        self._started = False

    def __enter__(self) -> ListWriter:
        return self

    def _start(self) -> None:
        """The header (or `[`): written with the first item, so that a command
        failing before it has any prints nothing on stdout."""
        self._started = True
        if self.fmt == "json":
            self.out.write("[")
        elif self._csv is not None:
            self._csv.writerow([f.csv for f in self.fields])
        elif self.fmt is None and self._header:
            self._write_row([f.title for f in self.table_fields], [BOLD] * len(self.table_fields))

    def write(self, item: Any) -> None:
        if not self._started:
            self._start()
        if self.fmt == "json":
            self.out.write(("\n" if self.count == 0 else ",\n") + _dumps(self.to_json(item)))
        elif self.fmt == "jsonl":
            self.out.write(_dumps(self.to_json(item)) + "\n")
        elif self._csv is not None:
            self._csv.writerow([f.value(item) for f in self.fields])
        else:
            texts = [one_line((f.human or f.value)(item)) for f in self.table_fields]
            colours = [
                f.colour(text) if f.colour else None
                for f, text in zip(self.table_fields, texts, strict=True)
            ]
            self._write_row(texts, colours)
        self.count += 1

    def write_all(self, items: Iterable[Any]) -> None:
        for item in items:
            self.write(item)

    def flush(self) -> None:
        self.out.flush()

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            return
        if not self._started and self.fmt is not None:
            self._start()  # an empty list is still a list: `[]`, or the CSV header
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")
        self.out.flush()

    def _write_row(self, texts: list[str], colours: list[str | None]) -> None:
        cells = []
        last = len(texts) - 1
        for index, (text, colour, spec) in enumerate(
            zip(texts, colours, self.table_fields, strict=True)
        ):
            if spec.width is not None and index < last:
                text = _fit(text, spec.width)
                padding = " " * (spec.width - cell_len(text))
                cells.append(paint(text, colour, self.color) + padding)
            else:
                cells.append(paint(text, colour, self.color))
        self.out.write("  ".join(cells).rstrip() + "\n")


def _fit(text: str, width: int) -> str:
    if cell_len(text) <= width:
        return text
    while text and cell_len(text) > width - 1:
        text = text[:-1]
    return text + "…"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_json(out: IO[str], value: Any) -> None:
    """One JSON document, indented, and a newline."""
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def write_json_line(out: IO[str], value: Any) -> None:
    out.write(_dumps(value) + "\n")
    out.flush()


def write_pairs(out: IO[str], pairs: list[tuple[str, str]], *, color: bool = False) -> None:
    """`label  value` lines, labels aligned; values made safe for a terminal."""
    width = max((len(label) for label, _ in pairs), default=0)
    for label, value in pairs:
        out.write(f"{paint(label.ljust(width), DIM, color)}  {one_line(value)}\n")
