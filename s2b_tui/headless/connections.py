"""`connections list`, `connect`, `unlink`, `reauthorize`, and waiting for
the customer (`--wait`)."""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

from s2b_tui.api import (
    ApiConnectionError,
    ApiTimeoutError,
    Authorization,
    AuthorizationStatus,
    Company,
    Connection,
    ConnectionStatus,
    NotFoundError,
    RateLimitError,
    ServerError,
    Sync2BooksClient,
)
from s2b_tui.headless.companies import confirm, resolve_company
from s2b_tui.headless.output import (
    Field,
    ListWriter,
    iso,
    local_minute,
    status_colour,
    write_json,
    write_json_line,
)
from s2b_tui.headless.runtime import CommandFailed, Context, ExitCode

_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: How often `--wait` asks, and its longest pause while the API is away.
POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 10.0
EXPIRY_GRACE = timedelta(minutes=1)
_TRANSIENT = (ApiConnectionError, ApiTimeoutError, ServerError, RateLimitError)


def _error_text(c: Connection) -> str:
    return f"{c.error.code}: {c.error.message}" if c.error else ""


CONNECTION_FIELDS = [
    Field("ID", "id", lambda c: c.id, width=36),
    Field("STATUS", "status", lambda c: str(c.status), width=12, colour=status_colour),
    Field("INTEGRATION", "integrationKey", lambda c: str(c.integration_key), width=18),
    Field("", "platformName", lambda c: c.platform_name, in_table=False),
    Field("UPDATED", "updatedAt", lambda c: iso(c.updated_at), width=16,
          human=lambda c: local_minute(c.updated_at)),
    Field("LAST SYNC", "lastSyncAt", lambda c: iso(c.last_sync_at), width=16,
          human=lambda c: local_minute(c.last_sync_at)),
    Field("", "createdAt", lambda c: iso(c.created_at), in_table=False),
    Field("ERROR", "error", _error_text),
]  # fmt: skip


def connection_json(connection: Connection) -> dict:
    return connection.to_wire()


async def list_connections(ctx: Context, args: argparse.Namespace) -> int:
    client = await ctx.client()
    company = await resolve_company(client, args.company)
    with ListWriter(
        ctx.out, CONNECTION_FIELDS, ctx.format, to_json=connection_json, color=ctx.color
    ) as writer:
        async for connection in client.iter_connections(company.id):
            writer.write(connection)
    return ExitCode.OK


async def connect(ctx: Context, args: argparse.Namespace) -> int:
    client = await ctx.client()
    company = await resolve_company(client, args.company)
    authorization = await client.create_connection(
        company.id, args.integration, expires_in_minutes=args.expires_in
    )
    return await _hand_off(ctx, args, client, company, authorization)


async def reauthorize(ctx: Context, args: argparse.Namespace) -> int:
    client = await ctx.client()
    company = await resolve_company(client, args.company)
    connection = await pick_connection(client, company, args.connection, for_unlink=False)
    if connection.status == ConnectionStatus.CONNECTED:
        raise CommandFailed(
            f"{connection.platform_name or connection.integration_key} of {company.name!r} is "
            "CONNECTED: nothing to reauthorize"
        )
    authorization = await client.reauthorize_connection(
        company.id, connection.id, expires_in_minutes=args.expires_in
    )
    return await _hand_off(ctx, args, client, company, authorization)


async def unlink(ctx: Context, args: argparse.Namespace) -> int:
    client = await ctx.client()
    company = await resolve_company(client, args.company)
    connection = await pick_connection(client, company, args.connection, for_unlink=True)
    platform = connection.platform_name or str(connection.integration_key)
    if connection.status != ConnectionStatus.DISCONNECTED:
        if client.read_only:
            raise CommandFailed(f"Not unlinking {platform}: this profile or command is read-only")
        confirm(
            ctx,
            args,
            f"Unlink {platform} from {company.name!r} (the customer must authorize again)",
            company.name,
            live=client.is_live,
        )
        connection = await client.unlink_connection(company.id, connection.id)
    else:
        ctx.note(f"{platform} of {company.name!r} was already disconnected")
    if ctx.format == "json":
        write_json(ctx.out, connection_json(connection))
    else:
        ctx.out.write(f"{connection.id} {connection.status}\n")
    return ExitCode.OK


async def pick_connection(
    client: Sync2BooksClient, company: Company, ref: str, *, for_unlink: bool
) -> Connection:
    """The connection `ref` names: its id, or its integration's key (the
    active one to unlink; the one needing attention to reauthorize)."""
    ref = ref.strip()
    if _UUID.fullmatch(ref):
        return await client.get_connection(company.id, ref.lower())
    key = re.sub(r"[\s-]+", "_", ref).upper()
    candidates = [
        c for c in await client.all_connections(company.id) if str(c.integration_key) == key
    ]
    if not candidates:
        raise NotFoundError(f"{company.name!r} has no {key} connection")
    rank: dict[str, int]
    if for_unlink:
        rank = {ConnectionStatus.CONNECTED: 0, ConnectionStatus.ERROR: 0}
    else:
        rank = {ConnectionStatus.ERROR: 0, ConnectionStatus.DISCONNECTED: 1}
    return min(candidates, key=lambda c: (rank.get(c.status, 2), -c.updated_at.timestamp()))


async def _hand_off(
    ctx: Context,
    args: argparse.Namespace,
    client: Sync2BooksClient,
    company: Company,
    authorization: Authorization,
) -> int:
    """Print the link; with --wait, follow it to its end."""
    if ctx.format == "json":
        body = authorization.to_wire()
        (write_json_line if args.wait else write_json)(ctx.out, body)
    else:
        ctx.out.write(authorization.auth_url + "\n")
    ctx.out.flush()
    platform = authorization.platform_name or authorization.integration_key
    until = (
        f", valid until {local_minute(authorization.expires_at)}"
        if authorization.expires_at
        else ""
    )
    ctx.note(f"the link for {company.name!r} to connect {platform}{until}: send it to the customer")
    if not args.wait:
        return ExitCode.OK
    final = await wait_for_customer(ctx, client, authorization, timeout=args.timeout)
    if ctx.format == "json":
        write_json_line(ctx.out, final.to_wire())
    if final.status == AuthorizationStatus.COMPLETED:
        ctx.note(f"connected: connection {final.connection_id}")
        return ExitCode.OK
    if final.status == AuthorizationStatus.PENDING:
        raise CommandFailed(f"still waiting for the customer after {args.timeout:g} s")
    raise CommandFailed(f"the link ended {final.status}: the customer did not connect")


async def wait_for_customer(
    ctx: Context,
    client: Sync2BooksClient,
    authorization: Authorization,
    *,
    timeout: float | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> Authorization:
    """Ask about `authorization` until it is no longer PENDING (or `timeout`
    passes: then it is returned still PENDING). The API going away and coming
    back is waited out, with one note each way."""
    deadline = None if timeout is None else time.monotonic() + timeout
    if ctx.stderr_is_tty:
        ctx.note("waiting for the customer… (Ctrl-C stops waiting; the link stays valid)")
    pause = poll_seconds
    away = False
    current = authorization
    while current.status == AuthorizationStatus.PENDING:
        if deadline is not None and time.monotonic() >= deadline:
            return current
        wait = pause if deadline is None else min(pause, max(deadline - time.monotonic(), 0))
        await asyncio.sleep(wait)
        try:
            current = await client.get_authorization(current.company_id, current.id)
        except _TRANSIENT as exc:
            if not away:
                ctx.note(f"the API is not answering ({exc.message}); still waiting")
                away = True
            pause = min(pause * 2, MAX_BACKOFF_SECONDS)
            continue
        if away:
            ctx.note("the API answers again")
            away = False
        pause = poll_seconds
        expires = current.expires_at
        if (
            current.status == AuthorizationStatus.PENDING
            and expires is not None
            and datetime.now(UTC) > expires + EXPIRY_GRACE
        ):
            # A server that never reports EXPIRED: its link is dead all the same
            # (the grace allows for its clock and ours to differ).
            return current.model_copy(update={"status": AuthorizationStatus.EXPIRED})
    return current
