"""`s2b-tui import customers.csv`: a company per row, at bounded concurrency.

Every row gets one outcome in the result CSV (in the file's order, streamed
as rows finish): `created`, `already imported` (the API replayed the row's
earlier create: same file, same Idempotency-Key), `invalid` (reported with
its line, skipped), `failed` (the API refused it or could not be reached;
run the same file again to retry it), or `not attempted` (the API went away:
the import stopped). `--dry-run` checks every row and calls no API.

Exit code: 0 when every row is imported (now or before), 2 when some rows are
invalid (the rest imported), 1 when some failed at the API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import csv
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from s2b_tui.api import (
    ApiConnectionError,
    ApiTimeoutError,
    ConflictError,
    RateLimitError,
    ReadOnlyError,
    RequestEvent,
    ServerError,
    Sync2BooksClient,
    Sync2BooksError,
    UnprocessableEntityError,
)
from s2b_tui.api.features import Feature
from s2b_tui.headless.import_rows import CsvFile, CsvFileError, ImportRow, read_csv
from s2b_tui.headless.runtime import (
    CommandFailed,
    Context,
    ExitCode,
    UsageError,
    not_offered_message,
)

MAX_CONCURRENCY = 32
#: Waits for a 429 beyond the client's own retries, per row.
RATE_LIMIT_WAITS = 20
#: Rows in a row that could not reach the API before the import stops.
UNREACHABLE_LIMIT = 16

CREATED = "created"
ALREADY = "already imported"
INVALID = "invalid"
FAILED = "failed"
NOT_ATTEMPTED = "not attempted"
VALID = "valid"  # --dry-run

RESULT_HEADER = ["row", "name", "contact_email", "company_id", "link", "outcome", "detail"]


@dataclass
class RowResult:
    row: ImportRow
    outcome: str
    company_id: str = ""
    link: str = ""
    detail: str = ""

    def as_csv(self) -> list[str]:
        return [
            str(self.row.line),
            self.row.name,
            self.row.contact_email or "",
            self.company_id,
            self.link,
            self.outcome,
            self.detail,
        ]


@dataclass
class _Replays:
    """What the client's request hook saw for the row being created."""

    replayed: bool = False


_current: contextvars.ContextVar[_Replays | None] = contextvars.ContextVar(
    "s2b_import_row", default=None
)


def _on_request(event: RequestEvent) -> None:
    """The client's hook: runs in the task of the call, so in its row's context."""
    replays = _current.get()
    if replays is not None and event.method == "POST" and event.path == "/companies":
        replays.replayed = replays.replayed or event.replayed


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=dict)
    done: int = 0

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.done += 1


class ResultWriter:
    """Writes results in the file's order as soon as each next one is known."""

    def __init__(self, out: IO[str], rows: list[ImportRow]) -> None:
        self._csv = csv.writer(out, lineterminator="\n")
        self._out = out
        self._order = [row.number for row in rows]
        self._position = 0
        self._waiting: dict[int, RowResult] = {}
        self.tally = Tally()
        self._csv.writerow(RESULT_HEADER)

    def add(self, result: RowResult) -> None:
        self.tally.add(result.outcome)
        self._waiting[result.row.number] = result
        while self._position < len(self._order) and self._order[self._position] in self._waiting:
            self._csv.writerow(self._waiting.pop(self._order[self._position]).as_csv())
            self._position += 1

    def flush(self) -> None:
        self._out.flush()


class Progress:
    """One line on stderr, redrawn at most ten times a second; only on a terminal."""

    def __init__(self, err: IO[str], total: int, enabled: bool) -> None:
        self.err = err
        self.total = total
        self.enabled = enabled and total > 0
        self._last = 0.0

    def update(self, tally: Tally, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        width = 24
        filled = int(width * tally.done / self.total)
        counts = ", ".join(f"{n:,} {outcome}" for outcome, n in tally.counts.items())
        self.err.write(
            f"\r\x1b[2K[{'#' * filled}{'.' * (width - filled)}] "
            f"{tally.done:,}/{self.total:,} rows  {counts}"
        )
        self.err.flush()

    def finish(self) -> None:
        if self.enabled:
            self.err.write("\r\x1b[2K")
            self.err.flush()


def _read_input(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror or exc}") from None


async def import_companies(ctx: Context, args: argparse.Namespace) -> int:
    if args.concurrency > MAX_CONCURRENCY:
        raise UsageError(f"--concurrency is at most {MAX_CONCURRENCY}")
    try:
        parsed = read_csv(_read_input(args.file))
    except CsvFileError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    if parsed.ignored_columns:
        ctx.note(f"ignoring the columns {', '.join(repr(c) for c in parsed.ignored_columns)}")
    output = _open_output(args.output)
    try:
        code = await _import(ctx, args, parsed, output)
    finally:
        if args.output is not None:
            output.close()
    return code


def _open_output(path: Path | None) -> IO[str]:
    if path is None:
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"Cannot write {path}: {exc.strerror or exc}") from None


async def _import(ctx: Context, args: argparse.Namespace, parsed: CsvFile, out: IO[str]) -> int:
    writer = ResultWriter(out, parsed.rows)
    invalid = parsed.invalid_rows
    for row in invalid:
        ctx.note(f"{args.file}: {row.lines}: skipped: {'; '.join(row.problems)}")
    if args.dry_run:
        for row in parsed.rows:
            if row.valid:
                writer.add(RowResult(row, VALID))
            else:
                writer.add(RowResult(row, INVALID, detail="; ".join(row.problems)))
        writer.flush()
        ctx.note(
            f"dry run: {len(parsed.rows) - len(invalid):,} of {len(parsed.rows):,} rows "
            "would be imported; nothing was sent"
        )
        return ExitCode.USAGE if invalid else ExitCode.OK

    client = await ctx.client()
    if client.read_only:
        raise CommandFailed("Nothing imported: this profile or command is read-only")
    if any(row.contact_email for row in parsed.valid_rows) and not await client.offers(
        Feature.COMPANY_EDIT
    ):
        raise CommandFailed(
            f"Nothing imported: {not_offered_message(Feature.COMPANY_EDIT)}; remove the "
            "contact email column to import without them"
        )
    client.on_request = _on_request
    for row in invalid:
        writer.add(RowResult(row, INVALID, detail="; ".join(row.problems)))
    progress = Progress(ctx.err, len(parsed.rows), ctx.stderr_is_tty)
    started = time.monotonic()
    run = _Run(client, args.connect)
    pending = iter(parsed.valid_rows)

    async def worker() -> None:
        for row in pending:
            if run.stopped:
                writer.add(RowResult(row, NOT_ATTEMPTED, detail=run.stopped))
                continue
            result = await run.import_row(row)
            writer.add(result)
            progress.update(writer.tally)

    workers = [asyncio.create_task(worker()) for _ in range(args.concurrency)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        progress.finish()
    writer.flush()
    seconds = time.monotonic() - started
    counts = writer.tally.counts
    summary = ", ".join(f"{n:,} {outcome}" for outcome, n in counts.items())
    ctx.note(f"{len(parsed.rows):,} rows in {seconds:.1f} s: {summary}")
    if counts.get(FAILED) or counts.get(NOT_ATTEMPTED):
        ctx.note("run the same command again to retry: rows imported already are not made twice")
        return ExitCode.API_ERROR
    return ExitCode.USAGE if invalid else ExitCode.OK


class _Run:
    """One import's calls: each row's create (and link), its waits, and the
    stop when the API cannot be reached."""

    def __init__(self, client: Sync2BooksClient, connect: str | None) -> None:
        self.client = client
        self.connect = connect
        self.unreachable = 0
        self.stopped = ""

    async def import_row(self, row: ImportRow) -> RowResult:
        replays = _Replays()
        _current.set(replays)  # this worker task's own context
        try:
            company = await self._patiently(
                lambda: self.client.create_company(
                    **row.create_arguments(), idempotency_key=row.idempotency_key
                )
            )
        except UnprocessableEntityError as exc:
            return RowResult(row, INVALID, detail=str(exc))
        except (ReadOnlyError, Sync2BooksError) as exc:
            return self._failed(row, exc)
        finally:
            _current.set(None)
        self.unreachable = 0
        outcome = ALREADY if replays.replayed else CREATED
        result = RowResult(row, outcome, company.id, company.auth_url or "")
        if self.connect is None:
            return result
        connect_key = f"{row.idempotency_key}:connect:{self.connect}"
        try:
            authorization = await self._patiently(
                lambda: self.client.create_connection(
                    company.id, self.connect or "", idempotency_key=connect_key
                )
            )
        except ConflictError as exc:
            result.detail = f"{self.connect} not linked: {exc.message}"
            return result
        except Sync2BooksError as exc:
            failed = self._failed(row, exc)
            result.outcome = FAILED
            result.detail = f"company {outcome}; {self.connect} link failed: {failed.detail}"
            return result
        result.link = authorization.auth_url
        return result

    async def _patiently(self, call):
        """`call()`, waiting out 429s the client's own retries did not."""
        for _ in range(RATE_LIMIT_WAITS):
            try:
                return await call()
            except RateLimitError as exc:
                await asyncio.sleep(exc.retry_after if exc.retry_after is not None else 1.0)
        return await call()

    def _failed(self, row: ImportRow, exc: Sync2BooksError) -> RowResult:
        if isinstance(exc, ApiConnectionError | ApiTimeoutError | ServerError):
            self.unreachable += 1
            if self.unreachable >= UNREACHABLE_LIMIT and not self.stopped:
                self.stopped = f"stopped: the API could not be reached ({exc.message})"
        return RowResult(row, FAILED, detail=str(exc))
