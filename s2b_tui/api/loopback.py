"""An httpx transport for a plain-HTTP server on this machine: the embedded sandbox.

httpx's default transport (httpcore, with anyio underneath) is built for the
open internet: TLS, proxies, HTTP/2, connection pools that survive servers
dropping idle connections. A sandbox that this console starts itself on
127.0.0.1 needs none of it, yet loading that stack costs the console about
15 ms of CPU on its critical path to the first screen.

This transport speaks HTTP/1.1 over asyncio streams, with h11 (the protocol
library httpcore itself uses) for the protocol: one connection per request,
closed after the reply, so there is no pool and no stale connection to
detect. The client is unchanged above it: the same requests, retries and
error mapping (httpx's own exception types are raised here). A remote API
always gets httpx's default transport.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import httpx

#: Bytes read from the socket at a time.
READ_CHUNK = 64 * 1024


class LoopbackTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1, one connection per request, for `http://` URLs only."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            raise httpx.UnsupportedProtocol(
                f"Only http:// URLs are served over loopback, not {request.url.scheme}://",
                request=request,
            )
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        body = await request.aread()
        host = request.url.host
        port = request.url.port or 80
        try:
            async with asyncio.timeout(timeouts.get("connect")):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"Connecting to {host}:{port} timed out", request=request
            ) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        try:
            return await _exchange(request, body, reader, writer, timeouts)
        finally:
            writer.close()


async def _exchange(
    request: httpx.Request,
    body: bytes,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    timeouts: dict[str, float | None],
) -> httpx.Response:
    connection = h11.Connection(h11.CLIENT)
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"connection"]
    headers.append((b"Connection", b"close"))
    try:
        data = connection.send(
            h11.Request(method=request.method, target=request.url.raw_path, headers=headers)
        )
        if body:
            data += connection.send(h11.Data(data=body))
        data += connection.send(h11.EndOfMessage())
    except h11.LocalProtocolError as exc:
        raise httpx.LocalProtocolError(str(exc), request=request) from exc
    try:
        async with asyncio.timeout(timeouts.get("write")):
            writer.write(data)
            await writer.drain()
    except TimeoutError:
        raise httpx.WriteTimeout("Sending the request timed out", request=request) from None
    except OSError as exc:
        raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc

    response: h11.Response | None = None
    chunks: list[bytes] = []
    while True:
        try:
            event: Any = connection.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        if event is h11.NEED_DATA:
            try:
                async with asyncio.timeout(timeouts.get("read")):
                    received = await reader.read(READ_CHUNK)
            except TimeoutError:
                raise httpx.ReadTimeout(
                    "Waiting for the reply timed out", request=request
                ) from None
            except OSError as exc:
                raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
            if not received and response is None:
                raise httpx.RemoteProtocolError(
                    "The server closed the connection without replying", request=request
                )
            connection.receive_data(received)  # b"" is the server closing
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            break
        elif not isinstance(event, h11.InformationalResponse):  # a 1xx precedes the reply
            raise httpx.RemoteProtocolError(
                f"The server closed the connection mid-reply ({type(event).__name__})",
                request=request,
            )
    if response is None:  # h11 yields the Response first; never reached
        raise httpx.RemoteProtocolError("A reply without a status line", request=request)
    return httpx.Response(
        response.status_code,
        headers=list(response.headers),
        stream=httpx.ByteStream(b"".join(chunks)),
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": bytes(response.reason)},
        request=request,
    )
