"""`links list` and `links cancel`: the links made for customers (the API's
authorizations), across companies (portfolio revision)."""

from __future__ import annotations

import argparse
import re

from s2b_tui.api import (
    Authorization,
    AuthorizationStatus,
    ConflictError,
    NotFoundError,
    Sync2BooksClient,
)
from s2b_tui.headless.companies import resolve_company
from s2b_tui.headless.output import (
    Field,
    ListWriter,
    iso,
    local_minute,
    status_colour,
    write_json,
)
from s2b_tui.headless.parser import integration_key
from s2b_tui.headless.runtime import CommandFailed, Context, ExitCode, UsageError

_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: The start of an id, as consoles show it: 8 or more hex digits (and dashes).
_ID_PREFIX = re.compile(r"[0-9a-fA-F]{8}[0-9a-fA-F-]*")
WALK_PAGE_SIZE = 500

LINK_FIELDS = [
    Field("ID", "id", lambda a: a.id, width=36),
    Field("STATUS", "status", lambda a: str(a.status), width=9, colour=status_colour),
    Field("INTEGRATION", "integrationKey", lambda a: str(a.integration_key), width=18),
    Field("CREATED", "createdAt", lambda a: iso(a.created_at), width=16,
          human=lambda a: local_minute(a.created_at)),
    Field("EXPIRES", "expiresAt", lambda a: iso(a.expires_at), width=16,
          human=lambda a: local_minute(a.expires_at)),
    Field("", "companyId", lambda a: a.company_id, in_table=False),
    Field("COMPANY", "companyName", lambda a: a.company_name or a.company_id),
    Field("", "connectionId", lambda a: a.connection_id or "", in_table=False),
    Field("", "link", lambda a: a.auth_url, in_table=False),
]  # fmt: skip


def link_json(authorization: Authorization) -> dict:
    return authorization.to_wire()


async def list_links(ctx: Context, args: argparse.Namespace) -> int:
    client = await ctx.client()
    company_id = None
    if args.company:
        company_id = (await resolve_company(client, args.company)).id
    statuses = [AuthorizationStatus.PENDING] if args.pending else None
    with ListWriter(ctx.out, LINK_FIELDS, ctx.format, to_json=link_json, color=ctx.color) as writer:
        async for authorization in client.iter_authorizations(
            statuses=statuses, company_id=company_id, page_size=WALK_PAGE_SIZE
        ):
            writer.write(authorization)
            if writer.count % WALK_PAGE_SIZE == 0:
                writer.flush()
    if writer.count == 0 and ctx.format is None:
        ctx.note("no pending links" if args.pending else "no links")
    return ExitCode.OK


async def cancel_link(ctx: Context, args: argparse.Namespace) -> int:
    """`links cancel COMPANY LINK` (LINK: an id, or the integration of the
    company's pending link), or `links cancel LINK` (an id, its first 8+
    characters, or its URL, among the pending links)."""
    refs: list[str] = args.refs
    if len(refs) > 2:
        raise UsageError("links cancel takes COMPANY LINK, or LINK alone")
    client = await ctx.client()
    if len(refs) == 2:
        authorization = await _in_company(client, refs[0], refs[1])
    else:
        authorization = await _alone(client, refs[0])
    if authorization.status != AuthorizationStatus.PENDING:
        raise CommandFailed(f"the link {authorization.id} is {authorization.status}, not pending")
    try:
        await client.cancel_authorization(authorization.company_id, authorization.id)
    except ConflictError as exc:
        raise CommandFailed(
            f"the link {authorization.id} is no longer pending: {exc.message}"
        ) from None
    if ctx.format == "json":
        write_json(ctx.out, {**link_json(authorization), "status": "CANCELLED"})
    else:
        ctx.out.write(f"cancelled {authorization.id}\n")
    company = authorization.company_name or authorization.company_id
    platform = authorization.platform_name or authorization.integration_key
    ctx.note(f"the {platform} link of {company!r} no longer works")
    return ExitCode.OK


async def _in_company(client: Sync2BooksClient, company_ref: str, ref: str) -> Authorization:
    company = await resolve_company(client, company_ref)
    ref = ref.strip()
    if _UUID.fullmatch(ref):
        return await client.get_authorization(company.id, ref.lower())
    try:
        key = integration_key(ref)
    except argparse.ArgumentTypeError:
        raise UsageError(f"{ref!r} is neither a link's id nor an integration") from None
    pending = [
        a
        async for a in client.iter_authorizations(
            statuses=[AuthorizationStatus.PENDING], company_id=company.id
        )
        if str(a.integration_key) == key
    ]
    if not pending:
        raise NotFoundError(f"{company.name!r} has no pending {key} link")
    return pending[0]  # at most one pending link per integration (API.md)


async def _alone(client: Sync2BooksClient, ref: str) -> Authorization:
    ref = ref.strip()
    if ref.startswith(("http://", "https://")):
        matches = await _pending_where(client, lambda a: a.auth_url == ref)
    elif _ID_PREFIX.fullmatch(ref):
        wanted = ref.lower()
        matches = await _pending_where(client, lambda a: a.id.lower().startswith(wanted))
    else:
        raise UsageError(
            f"{ref!r} is not a link's id or URL; to name a link by its integration, "
            "give the company too: links cancel COMPANY XERO"
        )
    if not matches:
        raise NotFoundError(f"no pending link has the id or URL {ref!r}")
    if len(matches) > 1:
        ids = ", ".join(a.id for a in matches[:5])
        raise UsageError(f"{len(matches)} pending links start with {ref!r}: {ids}")
    return matches[0]


async def _pending_where(client: Sync2BooksClient, wanted) -> list[Authorization]:
    return [
        a
        async for a in client.iter_authorizations(
            statuses=[AuthorizationStatus.PENDING], page_size=WALK_PAGE_SIZE
        )
        if wanted(a)
    ]
