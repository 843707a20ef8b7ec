"""Reading a customers CSV for `s2b-tui import`: one `ImportRow` per record.

Columns are found by header, in any case and spacing (`Name`, `company name`,
`Contact-Email`…); other columns are ignored. The file may have a BOM (UTF-8,
or UTF-16 as some spreadsheets save), CRLF line ends, quoted commas and line
breaks. A record that cannot be a company (no name, a control character,
bytes that are not UTF-8, more fields than the header…) becomes a row with
`problems`: reported with its line number and skipped, never the file.

Each row's Idempotency-Key derives from the file's content hash and the row
(its place and its values), so the same file imported twice, or again after
an interruption, never makes a twin: the API replays the first reply.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from s2b_tui.api.validation import description_problem, name_problem, normalize_name

NAME, DESCRIPTION, CONTACT_EMAIL = "name", "description", "contact email"

#: Header spellings (lower case, runs of spaces, '_' and '-' as one space).
COLUMN_ALIASES: dict[str, str] = {
    "name": NAME,
    "company": NAME,
    "company name": NAME,
    "companyname": NAME,
    "customer": NAME,
    "customer name": NAME,
    "description": DESCRIPTION,
    "notes": DESCRIPTION,
    "note": DESCRIPTION,
    "contact email": CONTACT_EMAIL,
    "contactemail": CONTACT_EMAIL,
    "email": CONTACT_EMAIL,
    "e mail": CONTACT_EMAIL,
    "email address": CONTACT_EMAIL,
}

EMAIL_MAX = 254
_SPACES = re.compile(r"[\s_-]+")
_LONE_SURROGATE = re.compile("[\udc80-\udcff]")
# Python's csv refuses fields longer than its limit (128 KiB); a quote left
# open swallows the rest of the file into one field, which must still be
# reported as a row, not as a crash.
_FIELD_LIMIT = 64 * 1024 * 1024


class CsvFileError(ValueError):
    """The file as a whole cannot be imported (no header, no name column,
    a column twice); the message says what to fix."""


def contact_email_problem(email: str | None) -> str | None:
    """API.md's rule for `contactEmail` (portfolio revision)."""
    if email is None:
        return None
    if len(email) > EMAIL_MAX:
        return f"must be at most {EMAIL_MAX} characters (it is {len(email):,})"
    if any(c.isspace() for c in email) or re.search(r"[\x00-\x1f\x7f-\x9f]", email):
        return "must not contain spaces or control characters"
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain:
        return "must have one @ with text on both sides"
    return None


@dataclass(frozen=True)
class ImportRow:
    """One record of the file: what it asks for, or why it cannot be imported."""

    number: int  # 1-based, among the file's records (the header is not one)
    line: int  # the line the record starts on (the header is line 1)
    name: str
    description: str | None = None
    contact_email: str | None = None
    problems: tuple[str, ...] = ()
    idempotency_key: str = ""
    end_line: int = 0  # the line it ends on, when a quoted field spans lines

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def lines(self) -> str:
        if self.end_line > self.line:
            return f"lines {self.line}–{self.end_line}"
        return f"line {self.line}"

    def create_arguments(self) -> dict[str, Any]:
        """`Sync2BooksClient.create_company`'s arguments for this row (the
        contact email only when the row has one: an API of the first revision
        takes none)."""
        arguments: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.contact_email:
            arguments["contact_email"] = self.contact_email
        return arguments


@dataclass
class CsvFile:
    """A whole file: its hash, where its columns are, and its rows."""

    content_hash: str
    columns: dict[str, int]  # NAME/DESCRIPTION/CONTACT_EMAIL → index
    ignored_columns: list[str]
    header_fields: int
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def valid_rows(self) -> list[ImportRow]:
        return [r for r in self.rows if r.valid]

    @property
    def invalid_rows(self) -> list[ImportRow]:
        return [r for r in self.rows if not r.valid]


def decode(data: bytes) -> str:
    """The file's text. UTF-8 (with or without a BOM) or UTF-16 with its BOM;
    bytes that are not UTF-8 are kept as lone surrogates, for the rows that
    hold them to be reported (`read_csv`)."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CsvFileError(f"The file starts as UTF-16 but is not ({exc.reason})") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    return data.decode("utf-8", errors="surrogateescape")


def _column_key(header: str) -> str:
    return _SPACES.sub(" ", header.strip().lower()).strip()


def read_csv(data: bytes) -> CsvFile:
    """Parse and check the whole file; every record becomes an `ImportRow`."""
    content_hash = hashlib.sha256(data).hexdigest()
    text = decode(data)
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 0
    while header is None:
        try:
            record = next(reader)
        except StopIteration:
            raise CsvFileError("The file is empty: it needs a header row (name, …)") from None
        except csv.Error as exc:
            raise CsvFileError(f"The header row cannot be read: {exc}") from None
        if any(cell.strip() for cell in record):
            header = record
            header_line = reader.line_num
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        if _LONE_SURROGATE.search(title):
            raise CsvFileError(
                f"Line {header_line}: the header is not UTF-8 text; save the file as UTF-8"
            )
        column = COLUMN_ALIASES.get(_column_key(title))
        if column is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        if column in columns:
            first = header[columns[column]].strip()
            raise CsvFileError(
                f"Line {header_line}: columns {columns[column] + 1} ({first!r}) and "
                f"{index + 1} ({title.strip()!r}) are both the {column}: keep one"
            )
        columns[column] = index
    if NAME not in columns:
        raise CsvFileError(
            f"Line {header_line}: no name column (found {', '.join(repr(h) for h in header)}); "
            "the header needs one of: name, company, company name"
        )
    parsed = CsvFile(content_hash, columns, ignored, len(header))
    parsed.rows = list(_rows(reader, parsed, header_line))
    return parsed


def _rows(reader, parsed: CsvFile, header_line: int) -> Iterator[ImportRow]:
    number = 0
    previous_end = header_line
    while True:
        start = previous_end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            previous_end = max(reader.line_num, start)
            yield ImportRow(number, start, "", problems=(f"cannot be read as CSV: {exc}",))
            continue
        end = reader.line_num
        previous_end = end
        if not any(cell.strip() for cell in record):
            continue  # a blank line is not a record
        number += 1
        yield _row(parsed, number, start, end, record)


def _row(parsed: CsvFile, number: int, start: int, end: int, record: list[str]) -> ImportRow:
    problems: list[str] = []

    def cell(column: str) -> str | None:
        index = parsed.columns.get(column)
        if index is None or index >= len(record):
            return None
        value = record[index]
        bad = _LONE_SURROGATE.search(value)
        if bad is not None:
            byte = ord(bad.group()) - 0xDC00
            problems.append(
                f"{column}: is not UTF-8 text (byte 0x{byte:02X}); save the file as UTF-8"
            )
            return None
        return value

    def shown(column: str) -> str:
        """The cell as the result CSV shows it, undecodable bytes as U+FFFD."""
        index = parsed.columns.get(column)
        if index is None or index >= len(record):
            return ""
        return _LONE_SURROGATE.sub("\ufffd", record[index])

    if len(record) > parsed.header_fields:
        problems.append(
            f"has {len(record)} fields but the header has {parsed.header_fields} "
            "(a comma in an unquoted value?)"
        )
        return ImportRow(
            number, start, normalize_name(shown(NAME)), problems=tuple(problems), end_line=end
        )
    raw_name = cell(NAME)
    if raw_name is None and not problems:
        problems.append(f"name: missing (the row has {len(record)} fields)")
    elif raw_name is not None:
        problem = name_problem(raw_name)
        if problem and "\n" in raw_name and end > start:
            problem += " (a quote left open joins lines into one value?)"
        if problem:
            problems.append(f"name: {problem}")
    name = normalize_name(raw_name if raw_name is not None else shown(NAME))
    description = cell(DESCRIPTION)
    if description is not None:
        # Line breaks as spreadsheets write them (CRLF, CR) become \n, the one allowed.
        description = description.replace("\r\n", "\n").replace("\r", "\n").strip() or None
        problem = description_problem(description)
        if problem:
            problems.append(f"description: {problem}")
    email = cell(CONTACT_EMAIL)
    if email is not None:
        email = email.strip() or None
        problem = contact_email_problem(email)
        if problem:
            problems.append(f"contact email: {problem}")
    row = ImportRow(
        number,
        start,
        name,
        description,
        email,
        problems=tuple(problems),
        end_line=end,
    )
    if row.valid:
        row = _with_key(row, parsed.content_hash)
    return row


def _with_key(row: ImportRow, content_hash: str) -> ImportRow:
    """The row's Idempotency-Key: the file's content hash, the row's number
    and its values. The same file gives the same keys; two identical records
    are two rows (two companies), each with its own key."""
    material = "\x1f".join(
        [content_hash, str(row.number), row.name, row.description or "", row.contact_email or ""]
    )
    digest = hashlib.sha256(material.encode("utf-8", errors="surrogatepass")).hexdigest()
    return ImportRow(
        row.number,
        row.line,
        row.name,
        row.description,
        row.contact_email,
        row.problems,
        f"s2b-import-{digest[:48]}",
        row.end_line,
    )
