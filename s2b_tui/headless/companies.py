"""`companies list/show/create/edit/delete` and `export`."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import AsyncIterator

from s2b_tui.api import Company, NotFoundError, Page, Sync2BooksClient
from s2b_tui.api.portfolio import UNSET
from s2b_tui.api.validation import (
    description_problem,
    email_problem,
    name_problem,
    normalize_name,
)
from s2b_tui.headless.output import (
    Field,
    ListWriter,
    iso,
    local_minute,
    status_colour,
    write_json,
    write_pairs,
)
from s2b_tui.headless.runtime import CommandFailed, Context, ExitCode, UsageError

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: A page of `--all` and `export`: the API's largest.
WALK_PAGE_SIZE = 500


def _count(status: str):
    return lambda c: str(sum(1 for x in c.connections if x.status == status))


def _state(company: Company) -> str:
    return str(company.connection_state) if company.connection_state is not None else ""


#: A company's columns. A server of the first revision sends no state, state
#: change or contact email: those cells are empty.
COMPANY_FIELDS = [
    Field("ID", "id", lambda c: c.id, width=36),
    Field("CREATED", "createdAt", lambda c: iso(c.created_at), width=16,
          human=lambda c: local_minute(c.created_at)),
    Field("STATE", "connectionState", _state, width=13, colour=status_colour),
    Field("", "stateChangedAt", lambda c: iso(c.state_changed_at), in_table=False),
    Field("CONN", "connected", _count("CONNECTED"), width=4),
    Field("ERR", "error", _count("ERROR"), width=3),
    Field("DISC", "disconnected", _count("DISCONNECTED"), width=4),
    Field("CONTACT", "contactEmail", lambda c: c.contact_email or "", width=28),
    Field("NAME", "name", lambda c: c.name),
    Field("", "description", lambda c: c.description or "", in_table=False),
    Field("", "link", lambda c: c.auth_url or "", in_table=False),
]  # fmt: skip


def company_json(company: Company) -> dict:
    return company.to_wire()


async def walk_companies(
    client: Sync2BooksClient,
    *,
    query: str | None,
    order_by: str | None,
    states: list[str] | None = None,
) -> AsyncIterator[Company]:
    """Every company matching, page after page, each once (a company created
    while walking can shift a page: it is not repeated). `states` (the
    portfolio revision's filter): only companies in those connection states."""
    seen: set[str] = set()
    async for company in client.iter_companies(
        page_size=WALK_PAGE_SIZE, query=query, order_by=order_by, states=states or None
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
            async for company in walk_companies(
                client, query=args.query, order_by=args.order_by, states=args.state
            ):
                writer.write(company)
                if writer.count % WALK_PAGE_SIZE == 0:
                    writer.flush()
            return ExitCode.OK
        page = await client.list_companies(
            page=args.page,
            page_size=args.page_size,
            query=args.query,
            order_by=args.order_by,
            states=args.state or None,
        )
        writer.write_all(page.results)
    if not page.results and ctx.format is None:
        filtered = args.query or args.state
        ctx.note("no companies match" if filtered else "no companies on this page")
    shown_to = (page.page_number - 1) * page.page_size + len(page.results)
    if page.total_results > shown_to or page.total_is_lower_bound:
        ctx.note(
            f"{len(page.results):,} of {total_text(page)} companies shown (page "
            f"{page.page_number} of {pages_text(page)}); --all lists every one"
        )
    return ExitCode.OK


def total_text(page: Page[Company]) -> str:
    """`1,234`, or `1,000+` when the API stopped counting (a lower bound)."""
    return f"{page.total_results:,}{'+' if page.total_is_lower_bound else ''}"


def pages_text(page: Page[Company]) -> str:
    return f"{page.total_pages:,}{'+' if page.total_is_lower_bound else ''}"


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
            ("contact email", company.contact_email or "—"),
            ("state", _state_line(company)),
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


def _state_line(company: Company) -> str:
    if company.connection_state is None:
        return "—"
    since = local_minute(company.state_changed_at) if company.state_changed_at else None
    return f"{company.connection_state}" + (f" since {since}" if since else "")


def _check(*fields: tuple[str, str | None]) -> None:
    problems = [f"{field}: {problem}" for field, problem in fields if problem]
    if problems:
        raise UsageError("; ".join(problems))


async def create_company(ctx: Context, args: argparse.Namespace) -> int:
    _check(
        ("name", name_problem(args.name)),
        ("description", description_problem(args.description)),
        ("contact email", email_problem(args.contact_email)),
    )
    client = await ctx.client()
    company = await client.create_company(
        normalize_name(args.name),
        args.description or None,
        contact_email=args.contact_email,
        idempotency_key=args.idempotency_key,
    )
    if ctx.format == "json":
        write_json(ctx.out, company.to_wire())
    else:
        ctx.out.write(f"{company.id}\n{company.auth_url or ''}\n")
        ctx.note(f"created company {company.name!r} (id, then its link, on stdout)")
    return ExitCode.OK


async def edit_company(ctx: Context, args: argparse.Namespace) -> int:
    """PATCH what is given: a new name, description or contact email, or
    clear the description or contact email."""
    changes: dict = {}
    if args.new_name is not None:
        _check(("name", name_problem(args.new_name)))
        changes["name"] = normalize_name(args.new_name)
    if args.clear_description:
        changes["description"] = None
    elif args.description is not None:
        _check(("description", description_problem(args.description)))
        changes["description"] = args.description or None
    if args.clear_contact_email:
        changes["contact_email"] = None
    elif args.contact_email is not None:
        _check(("contact email", email_problem(args.contact_email)))
        changes["contact_email"] = args.contact_email
    if not changes:
        raise UsageError(
            "nothing to change: give --name, --description, --clear-description, "
            "--contact-email or --clear-contact-email"
        )
    client = await ctx.client()
    company = await resolve_company(client, args.company)
    updated = await client.update_company(
        company.id,
        name=changes.get("name", UNSET),
        description=changes.get("description", UNSET),
        contact_email=changes.get("contact_email", UNSET),
    )
    if ctx.format == "json":
        write_json(ctx.out, updated.to_wire())
        return ExitCode.OK
    write_pairs(
        ctx.out,
        [
            ("id", updated.id),
            ("name", updated.name),
            ("description", updated.description or "—"),
            ("contact email", updated.contact_email or "—"),
        ],
        color=ctx.color,
    )
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
        async for company in walk_companies(
            client, query=args.query, order_by="createdAt", states=args.state
        ):
            writer.write(company)
            if writer.count % WALK_PAGE_SIZE == 0:
                writer.flush()
    if ctx.stderr_is_tty:
        ctx.note(f"exported {writer.count:,} companies")
    return ExitCode.OK
