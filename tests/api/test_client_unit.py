"""The client's own logic against a scripted transport: retries, backoff,
idempotency keys, error typing, parsing and key secrecy."""

from __future__ import annotations

import json
import random
import traceback
from typing import Any

import httpx
import pytest

from s2b_tui.api import (
    ApiConnectionError,
    ApiKey,
    ApiMode,
    ApiTimeoutError,
    AuthenticationError,
    ConflictError,
    InvalidApiKeyError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ReadOnlyError,
    RequestEvent,
    RetryPolicy,
    ServerError,
    Sync2BooksClient,
    UnprocessableEntityError,
    mask_key,
)

KEY = "sk_test_" + "A1b2C3d4E5f6G7h8J9k0wxyz"
COMPANY: dict[str, Any] = {
    "id": "5b0c7e0e-9c1a-4d8e-9a51-3c5f1f0d2a11",
    "name": "Acme Ltd",
    "createdAt": "2026-11-23T10:00:00Z",
    "authUrl": "http://127.0.0.1:1/link/abc",
    "connections": [],
}


class Script:
    """A transport answering from a list of replies (or exceptions), recording requests."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def error_reply(status: int, message: str, **extra) -> httpx.Response:
    body = {"statusCode": status, "error": message, "correlationId": "corr-1"}
    body.update(extra)
    return httpx.Response(status, json=body, headers={"X-Correlation-Id": "corr-1"})


def make_client(script: Script, **kwargs) -> tuple[Sync2BooksClient, list[float]]:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    client = Sync2BooksClient(
        KEY,
        "http://127.0.0.1:9/v1",
        transport=httpx.MockTransport(script),
        sleep=fake_sleep,
        rng=random.Random(7),
        **kwargs,
    )
    return client, waits


async def test_create_retried_after_lost_reply_reuses_one_idempotency_key():
    script = Script(
        httpx.ReadTimeout("lost"),
        httpx.ConnectError("refused"),
        httpx.Response(201, json=COMPANY),
    )
    client, waits = make_client(script)
    company = await client.create_company("Acme Ltd")
    assert company.name == "Acme Ltd"
    keys = {r.headers["Idempotency-Key"] for r in script.requests}
    assert len(script.requests) == 3 and len(keys) == 1
    assert len(waits) == 2 and all(0 <= w <= 0.5 for w in waits)


async def test_each_call_gets_its_own_idempotency_key_unless_given():
    script = Script(*[httpx.Response(201, json=COMPANY) for _ in range(3)])
    client, _ = make_client(script)
    await client.create_company("A")
    await client.create_company("A")
    await client.create_company("A", idempotency_key="submission-1")
    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert keys[0] != keys[1] and keys[2] == "submission-1"


async def test_retry_after_is_honoured_up_to_the_cap():
    script = Script(
        error_reply(429, "Slow down", canBeRetried=True),
        httpx.Response(200, json={"results": []}),
    )
    script.replies[0].headers["Retry-After"] = "120"
    client, waits = make_client(script, retry=RetryPolicy(retry_after_cap=5))
    await client.list_integrations()
    assert waits == [5]


async def test_gives_up_after_max_retries_with_a_typed_error():
    script = Script(*[error_reply(503, "Maintenance", canBeRetried=True) for _ in range(4)])
    client, waits = make_client(script)
    with pytest.raises(ServerError) as caught:
        await client.list_integrations()
    assert len(script.requests) == 4 and len(waits) == 3
    assert caught.value.status_code == 503 and caught.value.correlation_id == "corr-1"
    assert "corr-1" in str(caught.value)


async def test_backoff_grows_exponentially_with_jitter():
    policy = RetryPolicy(backoff_base=1, backoff_max=3)
    rng = random.Random(1)
    ceilings = [1, 2, 3, 3]
    for attempt, ceiling in enumerate(ceilings, start=1):
        samples = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert max(samples) <= ceiling and max(samples) > ceiling * 0.8


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
    ],
)
async def test_client_errors_are_typed_and_not_retried(status, cls):
    script = Script(error_reply(status, "Nope"))
    client, waits = make_client(script)
    with pytest.raises(cls):
        await client.get_company(COMPANY["id"])
    assert waits == [] and len(script.requests) == 1


async def test_field_errors_reach_the_caller():
    script = Script(
        error_reply(
            422,
            "Company name must not be empty",
            validation=[{"field": "name", "message": "must not be empty"}],
        )
    )
    client, _ = make_client(script)
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.create_company(" ")
    assert caught.value.field_message("name") == "must not be empty"
    assert "name: must not be empty" in str(caught.value)


async def test_in_flight_conflict_marked_retryable_is_retried():
    script = Script(
        error_reply(409, "A request with this key is in flight", canBeRetried=True),
        httpx.Response(201, json=COMPANY),
    )
    client, _ = make_client(script)
    await client.create_company("Acme Ltd")
    assert len(script.requests) == 2


async def test_retried_delete_whose_first_reply_was_lost_succeeds():
    script = Script(httpx.ReadTimeout("lost"), error_reply(404, "Company not found"))
    client, _ = make_client(script)
    await client.delete_company(COMPANY["id"])


async def test_reply_that_is_not_json_or_misses_fields_is_a_clear_error():
    script = Script(
        httpx.Response(200, text="<html>proxy error</html>"),
        httpx.Response(200, json={"id": "x"}),
    )
    client, _ = make_client(script)
    with pytest.raises(InvalidResponseError, match="not JSON"):
        await client.get_company("x")
    with pytest.raises(InvalidResponseError, match="expected shape"):
        await client.get_company("x")


async def test_unknown_status_from_a_newer_server_is_kept():
    conn = {
        "id": "c1",
        "companyId": "x",
        "integrationKey": "NETSUITE",
        "status": "SYNCING",
        "createdAt": "2026-11-23T10:00:00Z",
        "updatedAt": "2026-11-23T10:00:00Z",
        "brandNewField": 1,
    }
    script = Script(httpx.Response(200, json={"results": [conn], "totalResults": 1}))
    client, _ = make_client(script)
    page = await client.list_connections("x")
    assert page.results[0].status == "SYNCING"
    assert page.results[0].integration_key == "NETSUITE"


async def test_paging_iterator_walks_every_page():
    pages = [
        {
            "results": [dict(COMPANY, id=f"id-{i}") for i in range(n)],
            "pageNumber": p,
            "pageSize": 2,
            "totalResults": 5,
        }
        for p, n in ((1, 2), (2, 2), (3, 1))
    ]
    script = Script(*[httpx.Response(200, json=p) for p in pages])
    client, _ = make_client(script)
    ids = [c.id async for c in client.iter_companies(page_size=2)]
    assert ids == ["id-0", "id-1", "id-0", "id-1", "id-0"]
    assert [r.url.params["page"] for r in script.requests] == ["1", "2", "3"]


async def test_read_only_client_refuses_mutations_without_sending():
    script = Script(httpx.Response(200, json={"results": []}))
    client, _ = make_client(script, read_only=True)
    await client.list_integrations()
    for call in (
        client.create_company("A"),
        client.delete_company("x"),
        client.unlink_connection("x", "y"),
        client.create_connection("x", "XERO"),
    ):
        with pytest.raises(ReadOnlyError):
            await call
    assert len(script.requests) == 1


async def test_request_hook_reports_each_call():
    events: list[RequestEvent] = []
    script = Script(
        error_reply(500, "boom", canBeRetried=True),
        httpx.Response(200, json={"results": []}, headers={"X-Correlation-Id": "c-9"}),
        httpx.ConnectError("refused"),
        httpx.ConnectError("refused"),
    )
    client, _ = make_client(script, on_request=events.append, retry=RetryPolicy(max_retries=1))
    await client.list_integrations()
    with pytest.raises(ApiConnectionError):
        await client.get_company("x")
    first, second = events
    assert (first.method, first.path, first.status, first.retries) == (
        "GET",
        "/integrations",
        200,
        1,
    )
    assert first.correlation_id == "c-9" and first.latency_ms >= 0
    assert second.error is not None
    assert second.status is None and second.retries == 1 and "Could not reach" in second.error


async def test_timeout_is_its_own_error():
    script = Script(*[httpx.ReadTimeout("slow") for _ in range(2)])
    client, _ = make_client(script, retry=RetryPolicy(max_retries=1))
    with pytest.raises(ApiTimeoutError, match="timed out"):
        await client.list_integrations()


async def test_429_without_canBeRetried_body_is_still_retried():
    script = Script(
        httpx.Response(429, text="too many"),
        httpx.Response(200, json={"results": []}),
    )
    client, _ = make_client(script)
    await client.list_integrations()
    assert len(script.requests) == 2
    with pytest.raises(RateLimitError):
        client2, _ = make_client(Script(*[httpx.Response(429) for _ in range(4)]))
        await client2.list_integrations()


# -- keys -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "sk_test_short",
        "pk_test_" + "a" * 20,
        "sk_prod_" + "a" * 20,
        "sk_test_" + "a" * 15 + "!",
    ],
)
def test_malformed_key_is_refused_before_any_request(bad):
    with pytest.raises(InvalidApiKeyError) as caught:
        Sync2BooksClient(bad, "http://127.0.0.1:9/v1")
    if len(bad) > 12:
        assert bad not in str(caught.value)


def test_mode_comes_from_the_prefix():
    assert ApiKey(KEY).mode is ApiMode.TEST
    assert ApiKey("sk_live_" + "x" * 24).is_live


def test_key_never_appears_in_repr_str_or_errors():
    client = Sync2BooksClient(KEY, "http://127.0.0.1:9/v1")
    assert client.masked_key == "sk_test_…wxyz" == mask_key(KEY)
    for text in (repr(client), str(ApiKey(KEY)), repr(ApiKey(KEY)), repr(client.__dict__)):
        assert KEY not in text
    with pytest.raises(TypeError):
        json.dumps(ApiKey(KEY))


async def test_key_never_appears_in_a_traceback():
    script = Script(*[httpx.ConnectError("refused") for _ in range(4)])
    client, _ = make_client(script)
    try:
        await client.list_integrations()
    except ApiConnectionError as exc:
        te = traceback.TracebackException.from_exception(exc, capture_locals=True)
        text = "".join(te.format())
    else:  # pragma: no cover
        pytest.fail("no error")
    assert KEY not in text
    assert script.requests[0].headers["Authorization"] == f"Bearer {KEY}"
