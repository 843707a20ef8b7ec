"""`events [--follow]`: the changes to companies, connections and links, one
line each, as `stripe listen` prints them (portfolio revision's feed).

    48213  2026-11-28 09:14:03  connection.failed  PLATFORM  Acme Ltd  XERO
           CONNECTED→ERROR  TOKEN_EXPIRED: The Xero access token expired

(one line on a terminal: sequence, local time, type, actor, company,
integration, from→to, detail).

Without `--follow` it prints the latest events (or those after `--after`) and
ends. With `--follow` it prints new events until Ctrl-C (exit 0, quietly):
an API that goes away is waited out, with one line on stderr each way, and
reading resumes where it was; a feed that no longer holds where it was (410:
a sandbox reset, or older than the feed keeps) is said on stderr and reading
goes on from the feed's newest event.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from s2b_tui.api import Event, EventFeed, Sync2BooksClient, Sync2BooksError
from s2b_tui.api.events import EventFollower, FeedReset, is_transient
from s2b_tui.display import one_line
from s2b_tui.headless.companies import resolve_company
from s2b_tui.headless.output import DIM, paint, status_colour, write_json_line
from s2b_tui.headless.runtime import Context, ExitCode

_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: The longest pause between two reads while the API is away.
MAX_BACKOFF_SECONDS = 10.0
PAGE_SIZE = 500

#: Widths of the fixed columns of a line (the detail is last).
TYPE_WIDTH, ACTOR_WIDTH, COMPANY_WIDTH, INTEGRATION_WIDTH, CHANGE_WIDTH = 24, 8, 24, 18, 22


def event_line(event: Event, *, color: bool = False) -> str:
    """One line for people: sequence, local time, type, actor, company,
    integration, from→to, detail. Untrusted text made one plain line."""
    when = event.occurred_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    company = one_line(event.company_name or event.company_id or "—")
    change = ""
    if event.from_status or event.to_status:
        change = f"{event.from_status or '—'}→{event.to_status or '—'}"
    colour = status_colour(event.to_status or "")
    cells = [
        paint(str(event.sequence).rjust(6), DIM, color),
        when,
        _cell(str(event.type), TYPE_WIDTH),
        _cell(str(event.actor or "—"), ACTOR_WIDTH),
        _cell(company, COMPANY_WIDTH),
        _cell(str(event.integration_key or "—"), INTEGRATION_WIDTH),
        paint(_cell(change or "—", CHANGE_WIDTH), colour if change else None, color),
        one_line(event.detail or ""),
    ]
    return "  ".join(cells).rstrip()


def _cell(text: str, width: int) -> str:
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.ljust(width)


def _write(ctx: Context, event: Event) -> None:
    if ctx.format == "jsonl":
        write_json_line(ctx.out, event.to_wire())
    else:
        ctx.out.write(event_line(event, color=ctx.color) + "\n")
        ctx.out.flush()


async def events(ctx: Context, args: argparse.Namespace) -> int:
    client = await ctx.client()
    company_id = None
    if args.company:
        ref = args.company.strip()
        # An id is taken as it is: a deleted company's events stay in the feed.
        company_id = (
            ref.lower() if _UUID.fullmatch(ref) else (await resolve_company(client, ref)).id
        )
    types = ",".join(args.types) if args.types else None
    if args.follow:
        return await _follow(ctx, args, client, company_id=company_id, types=types)
    if args.after is not None:
        async for event in _after(client, args.after, company_id=company_id, types=types):
            _write(ctx, event)
        return ExitCode.OK
    feed = await client.list_events(company_id=company_id, types=types, page_size=args.limit)
    latest = sorted((e for e in feed.results if e.is_known), key=lambda e: e.sequence)
    for event in latest:
        _write(ctx, event)
    if not latest and ctx.format is None:
        ctx.note("no events")
    return ExitCode.OK


async def _after(
    client: Sync2BooksClient, after: int, *, company_id: str | None, types: str | None
):
    """Every event after `after`, oldest first, page after page."""
    cursor = after
    while True:
        feed = await client.list_events(
            after=cursor, company_id=company_id, types=types, page_size=PAGE_SIZE
        )
        for event in sorted(feed.results, key=lambda e: e.sequence):
            if event.sequence > cursor:
                cursor = event.sequence
                if event.is_known:
                    yield event
        if not feed.has_more or not feed.results:
            return


async def _follow(
    ctx: Context,
    args: argparse.Namespace,
    client: Sync2BooksClient,
    *,
    company_id: str | None,
    types: str | None,
) -> int:
    away = False

    async def list_events(**kwargs: Any) -> EventFeed:
        """The client's read, saying on stderr when the API goes and comes back."""
        nonlocal away
        try:
            feed = await client.list_events(**kwargs)
        except Sync2BooksError as exc:
            if is_transient(exc) and not away:
                away = True
                ctx.note(f"the API is not answering ({exc.message}); waiting for it")
            raise
        if away:
            away = False
            where = follower.position
            ctx.note(
                "the API answers again; reading on"
                + (f" after sequence {where}" if where is not None else "")
            )
        return feed

    # With no --after, only events from now on: the follower's first read
    # learns where the feed is (and waits out an API that is not there yet).
    follower = EventFollower(
        list_events,
        args.after,
        interval=args.interval,
        company_id=company_id,
        types=types,
        page_size=PAGE_SIZE,
        max_backoff=MAX_BACKOFF_SECONDS,
    )
    if ctx.stderr_is_tty:
        ctx.note("following events as they happen (Ctrl-C stops)")
    async for item in follower:
        if isinstance(item, FeedReset):
            ctx.note(
                "the events feed no longer holds where this was (it was reset, or that is "
                f"older than it keeps); reading on after sequence {item.last_sequence}"
            )
            continue
        _write(ctx, item)
    return ExitCode.OK
