"""What goes over the wire, both ways: path segments and JSON bodies out;
reply bodies, read as JSON, and the typed error of a non-2xx reply back.

Every reply, whatever a server (or a proxy in front of it) sends, becomes
either its JSON or a `Sync2BooksError`: never a decoding exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from s2b_tui.api.errors import FieldProblem, InvalidResponseError, Sync2BooksError, error_class_for
from s2b_tui.api.models import Page

# A server's error text is shown to a person: one sentence, not a page.
MAX_ERROR_MESSAGE = 500
MAX_FIELD_ERRORS = 20
#: Statuses worth another try: the API (or something in front of it) may
#: answer differently in a moment.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(slots=True)
class Reply:
    """A successful reply: its status, JSON body (None when empty) and headers."""

    status: int
    body: Any
    headers: httpx.Headers
    correlation_id: str | None
    retries: int


def segment(value: str) -> str:
    """A path segment: ids are UUIDs, but never let odd input change the path."""
    return quote(str(value), safe="")


def encode_json(body: Any) -> bytes:
    """A request body as UTF-8 JSON. An unpaired surrogate (only possible
    inside a string) is sent as its JSON escape, \\udXXX, for the server to
    refuse; never a crash here."""
    text = json.dumps(body, ensure_ascii=False)
    return text.encode("utf-8", errors="backslashreplace")


# A JSON escape of half a UTF-16 pair ("\\ud83d"); a whole pair loads as one character.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_json(content: bytes) -> Any:
    """A reply body as JSON (UTF-8, as API.md says). Unpaired surrogates,
    which JSON can carry as escapes but no UTF-8 text holds, become U+FFFD,
    so every string the client hands out can be encoded, shown and copied.
    Raises ValueError or RecursionError when the body is not readable JSON."""
    text = content.decode("utf-8-sig")
    value = json.loads(text)
    if _SURROGATE_ESCAPE.search(text):
        value = _without_lone_surrogates(value)
    return value


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {
            _without_lone_surrogates(key): _without_lone_surrogates(item)
            for key, item in value.items()
        }
    return value


def reply_json(response: httpx.Response) -> Any:
    """The JSON of a successful reply that has a body; InvalidResponseError
    when it cannot be read."""
    try:
        return decode_json(response.content)
    except (ValueError, RecursionError):
        # ValueError: not JSON, not UTF-8, or a number too long to convert;
        # RecursionError: nested too deeply.
        raise InvalidResponseError(
            f"The API answered {response.status_code} with a body that is not JSON",
            status_code=response.status_code,
            correlation_id=response.headers.get("X-Correlation-Id"),
        ) from None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def error_from_response(response: httpx.Response, correlation_id: str | None) -> Sync2BooksError:
    """The typed error of a non-2xx reply. The body is read leniently: each
    part of API.md's error body is used when it is there with the right type,
    so a proxy's page or a differently shaped body still gives a clear error."""
    status = response.status_code
    cls = error_class_for(status)
    message = f"The API answered {status} {response.reason_phrase or ''}".strip()
    field_errors: list[FieldProblem] = []
    can_be_retried = status in RETRYABLE_STATUSES
    try:
        body = decode_json(response.content) if response.content else None
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict):
        text = body.get("error")
        if isinstance(text, str) and text.strip():
            message = shorten(text.strip(), MAX_ERROR_MESSAGE)
        server_id = body.get("correlationId")
        if isinstance(server_id, str) and server_id.strip():
            correlation_id = shorten(server_id.strip(), 100)
        can_be_retried = body.get("canBeRetried") is True or can_be_retried
        problems = body.get("validation")
        if isinstance(problems, list):
            field_errors = [
                FieldProblem(shorten(p["field"], 100), shorten(p["message"], 200))
                for p in problems
                if isinstance(p, dict)
                and isinstance(p.get("field"), str)
                and isinstance(p.get("message"), str)
            ][:MAX_FIELD_ERRORS]
    return cls(
        message,
        status_code=status,
        correlation_id=correlation_id,
        field_errors=field_errors,
        can_be_retried=can_be_retried,
        retry_after=_retry_after(response),
    )


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def walk_pages(fetch: Callable[[int], Awaitable[Page[Any]]]) -> AsyncIterator[Any]:
    """Every item of every page `fetch` returns, page by page."""
    page_number = 1
    while True:
        page = await fetch(page_number)
        for item in page.results:
            yield item
        last = not page.results or page_number >= page.total_pages
        # A lower-bound total promises at least that many: go on while pages come full.
        if last and not (page.total_is_lower_bound and len(page.results) >= page.page_size):
            return
        page_number += 1
