"""`companies list/show/create/delete` and `export`."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import AsyncIterator

from s2b_tui.api import Company, NotFoundError, Sync2BooksClient
from s2b_tui.api.validation import description_problem, name_problem, normalize_name
from s2b_tui.headless.output import (
    Field,
    ListWriter,
    iso,
    local_minute,
    write_json,
    write_pairs,
)
from s2b_tui.headless.runtime import CommandFailed, Context, ExitCode, UsageError

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: A page of `--all` and `export`: the API's largest.
WALK_PAGE_SIZE = 500


def _count(status: str):
    return lambda c: str(sum(1 for x in c.connections if x.status == status))


#: A company's columns. The portfolio revision's `connectionState`,
#: `stateChangedAt` and `contactEmail` go here as three more Fields.
COMPANY_FIELDS = [
    Field("ID", "id", lambda c: c.id, width=36),
    Field("CREATED", "createdAt", lambda c: iso(c.created_at), width=16,
          human=lambda c: local_minute(c.created_at)),
    Field("CONN", "connected", _count("CONNECTED"), width=4),
    Field("ERR", "error", _count("ERROR"), width=3),
    Field("DISC", "disconnected", _count("DISCONNECTED"), width=4),
    Field("NAME", "name", lambda c: c.name),
    Field("", "description", lambda c: c.description or "", in_table=False),
    Field("", "link", lambda c: c.auth_url or "", in_table=False),
]  # fmt: skip


def company_json(company: Company) -> dict:
    return company.to_wire()


async def walk_companies(
    client: Sync2BooksClient, *, query: str | None, order_by: str | None
) -> AsyncIterator[Company]:
    """Every company matching, page after page, each once (a company created
    while walking can shift a page: it is not repeated). The portfolio
    revision's `state` filter is one more argument here."""
    seen: set[str] = set()
    async for company in client.iter_companies(
        page_size=WALK_PAGE_SIZE, query=query, order_by=order_by
    ):
        if company.id not in seen:
            seen.add(company.id)
            yield company


async def resolve_company(client: Sync2BooksClient, ref: str) -> Company:
    """The company `ref` names: its id, or its exact name when that is unique.
    (The portfolio revision's 8-hex-digit id prefixes go here too.)"""
    ref = ref.strip()
    if _UUID.fullmatch(ref):
        return await client.get_company(ref.lower())
    wanted = normalize_name(ref).casefold()
    matches = []
    async for company in client.iter_companies(page_size=WALK_PAGE_SIZE, query=ref):
        if normalize_name(company.name).casefold() == wanted:
            matches.append(company)
    if not matches:
        raise NotFoundError(f"No company has the id or the name {ref!r}")
    if len(matches) > 1:
        ids = ", ".join(c.id for c in matches[:5])
        raise UsageError(f"{len(matches)} companies are named {ref!r}; use an id: {ids}")
    return matches[0]


async def list_companies(ctx: Context, args: argparse.Namespace) -> int:
    client = await ctx.client()
    with ListWriter(
        ctx.out, COMPANY_FIELDS, ctx.format, to_json=company_json, color=ctx.color
    ) as writer:
        if args.all:
            async for company in walk_companies(client, query=args.query, order_by=args.order_by):
                writer.write(company)
                if writer.count % WALK_PAGE_SIZE == 0:
                    writer.flush()
            return ExitCode.OK
        page = await client.list_companies(
            page=args.page, page_size=args.page_size, query=args.query, order_by=args.order_by
        )
        writer.write_all(page.results)
    if not page.results and ctx.format is None:
        ctx.note("no companies match" if args.query else "no companies on this page")
    shown_to = (page.page_number - 1) * page.page_size + len(page.results)
    if page.total_results > shown_to:
        ctx.note(
            f"{len(page.results):,} of {page.total_results:,} companies shown (page "
            f"{page.page_number} of {page.total_pages:,}); --all lists every one"
        )
    return ExitCode.OK


async def show_company(ctx: Context, args: argparse.Namespace) -> int:
    from s2b_tui.headless.connections import CONNECTION_FIELDS, connection_json

    client = await ctx.client()
    company = await resolve_company(client, args.company)
    connections = company.connections
    if ctx.format == "json":
        body = company.to_wire()
        body["connections"] = [connection_json(c) for c in connections]
        write_json(ctx.out, body)
        return ExitCode.OK
    write_pairs(
        ctx.out,
        [
            ("id", company.id),
            ("name", company.name),
            ("description", company.description or "—"),
            ("created", local_minute(company.created_at)),
            ("link", company.auth_url or "—"),
            ("connections", str(len(connections))),
        ],
        color=ctx.color,
    )
    if connections:
        ctx.out.write("\n")
        with ListWriter(
            ctx.out, CONNECTION_FIELDS, None, to_json=connection_json, color=ctx.color
        ) as writer:
            writer.write_all(connections)
    return ExitCode.OK


async def create_company(ctx: Context, args: argparse.Namespace) -> int:
    problems = [
        f"{field}: {problem}"
        for field, problem in (
            ("name", name_problem(args.name)),
            ("description", description_problem(args.description)),
        )
        if problem
    ]
    if problems:
        raise UsageError("; ".join(problems))
    client = await ctx.client()
    company = await client.create_company(
        normalize_name(args.name),
        args.description or None,
        idempotency_key=args.idempotency_key,
    )
    if ctx.format == "json":
        write_json(ctx.out, company.to_wire())
    else:
        ctx.out.write(f"{company.id}\n{company.auth_url or ''}\n")
        ctx.note(f"created company {company.name!r} (id, then its link, on stdout)")
    return ExitCode.OK


async def delete_company(ctx: Context, args: argparse.Namespace) -> int:
    client = await ctx.client()
    company = await resolve_company(client, args.company)
    if client.read_only:
        raise CommandFailed(f"Not deleting {company.name!r}: this profile or command is read-only")
    what = f"company {company.name!r} ({company.id}) and its {len(company.connections)} connections"
    confirm(ctx, args, f"Delete {what}", company.name, live=client.is_live)
    await client.delete_company(company.id)
    if ctx.format == "json":
        write_json(ctx.out, {"id": company.id, "deleted": True})
    else:
        ctx.out.write(f"deleted {company.id}\n")
    return ExitCode.OK


def confirm(ctx: Context, args: argparse.Namespace, action: str, name: str, *, live: bool) -> None:
    """Go on only with --yes, or when the person at the terminal agrees: with
    a LIVE key they type the company's name, as in the console. With no
    terminal to ask and no --yes: refused (exit 2)."""
    if args.yes:
        return
    if not (ctx.stdin_is_tty and ctx.stderr_is_tty):
        raise UsageError(f"{action}? Refused: no terminal to ask; add --yes to go ahead")
    if live:
        ctx.err.write(f"{action}? This is LIVE. Type the company's name to go ahead: ")
    else:
        ctx.err.write(f"{action}? [y/N] ")
    ctx.err.flush()
    answer = sys.stdin.readline()
    if not answer:
        raise UsageError("Cancelled (no answer)")
    agreed = (
        normalize_name(answer) == normalize_name(name)
        if live
        else answer.strip().lower() in ("y", "yes")
    )
    if not agreed:
        raise UsageError("Cancelled")


async def export_companies(ctx: Context, args: argparse.Namespace) -> int:
    """Every company (oldest first, so companies created meanwhile come last),
    as CSV or JSON lines, streamed a page at a time."""
    client = await ctx.client()
    fmt = ctx.format or "csv"
    with ListWriter(ctx.out, COMPANY_FIELDS, fmt, to_json=company_json) as writer:
        async for company in walk_companies(client, query=args.query, order_by="createdAt"):
            writer.write(company)
            if writer.count % WALK_PAGE_SIZE == 0:
                writer.flush()
    if ctx.stderr_is_tty:
        ctx.note(f"exported {writer.count:,} companies")
    return ExitCode.OK
