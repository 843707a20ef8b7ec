"""The loopback transport against hand-written servers: what a real server may
send (chunked bodies, 1xx, gzip) and every way a reply can go wrong."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from s2b_tui.api import ApiConnectionError
from s2b_tui.api.loopback import LoopbackTransport
from s2b_tui.session import sandbox_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    """A one-function TCP server on a free 127.0.0.1 port; its base URL."""

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The request's head and its Content-Length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


def replying(raw: bytes, seen: list[tuple[bytes, bytes]] | None = None) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        if seen is not None:
            seen.append(request)
        writer.write(raw)
        await writer.drain()

    return handler


def http(timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=LoopbackTransport(), timeout=timeout)


async def test_sends_the_request_as_given_on_its_own_connection():
    seen: list[tuple[bytes, bytes]] = []
    reply = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Thing: yes\r\n\r\nok"
    async with serve(replying(reply, seen)) as url, http() as client:
        response = await client.post(
            f"{url}/v1/companies?pageSize=5&q=a%20b",
            content=b'{"name": "Acme"}',
            headers={"Idempotency-Key": "k1", "Connection": "keep-alive"},
        )
    assert (response.status_code, response.text, response.headers["x-thing"]) == (201, "ok", "yes")
    assert response.http_version == "HTTP/1.1" and response.reason_phrase == "Created"
    ((head, body),) = seen
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/companies?pageSize=5&q=a%20b HTTP/1.1"
    fields = (line.partition(":") for line in lines[1:] if line)
    headers = {name.lower(): value.strip() for name, _, value in fields}
    assert headers["idempotency-key"] == "k1"
    assert headers["content-length"] == "16" and body == b'{"name": "Acme"}'
    assert headers["connection"] == "close"  # one request per connection, whatever was asked


async def test_a_chunked_reply_after_a_1xx_is_read_whole():
    reply = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    async with serve(replying(reply)) as url, http() as client:
        response = await client.get(url)
    assert (response.status_code, response.text) == (200, "hello world")


async def test_a_reply_ended_by_closing_the_connection_is_read_whole():
    reply = b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 200_000  # no length: the close ends it
    async with serve(replying(reply)) as url, http() as client:
        response = await client.get(url)
    assert response.content == b"x" * 200_000


async def test_a_gzip_body_is_decoded():
    body = gzip.compress(b'{"results": []}')
    reply = (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    async with serve(replying(reply)) as url, http() as client:
        response = await client.get(url)
    assert response.json() == {"results": []}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"", "without"),  # closed before a single byte
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "incomplete|peer closed"),
        (b"SMTP ready\r\n\r\n", "illegal|invalid|status"),
    ],
    ids=["closed", "cut short", "not http"],
)
async def test_a_broken_reply_is_a_protocol_error(reply: bytes, error: str):
    async with serve(replying(reply)) as url, http() as client:
        with pytest.raises(httpx.RemoteProtocolError, match=f"(?i){error}"):
            await client.get(url)


async def test_a_server_that_never_replies_is_a_read_timeout():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with serve(silent) as url, http(timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(url)


async def test_nothing_listening_is_a_connect_error():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with http() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_https_is_refused_not_sent_in_clear():
    async with http() as client:
        with pytest.raises(httpx.UnsupportedProtocol):
            await client.get("https://127.0.0.1:1/")


async def test_the_sandbox_client_ignores_proxies_from_the_environment(sandbox, monkeypatch):
    """HTTP(S)_PROXY cannot reach this machine's sandbox: it is not used for it."""
    dead = "http://127.0.0.1:9"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with sandbox_client(sandbox.api_key, sandbox.base_url) as client:
        assert (await client.list_companies()).total_results == 0


async def test_a_transport_failure_reaches_the_console_as_a_connection_error():
    async with serve(replying(b"")) as url:
        client = sandbox_client("sk_test_" + "a" * 32, url + "/v1", timeout=2.0)
        client.retry = client.retry.__class__(max_retries=0)
        async with client:
            with pytest.raises(ApiConnectionError, match="Could not reach"):
                await client.list_companies()
