"""Helpers for the sandbox tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def assert_error(
    response: httpx.Response, status: int, *, fragment: str = "", retryable: bool | None = None
) -> dict:
    """The reply is an API.md error body with that status; returns the body."""
    assert response.status_code == status, response.text
    body = response.json()
    correlation_id = response.headers["x-correlation-id"]
    assert body["statusCode"] == status
    assert body["correlationId"] == correlation_id
    assert uuid.UUID(hex=correlation_id).version == 4
    assert isinstance(body["error"], str) and body["error"]
    expected_retryable = status == 429 or status >= 500 if retryable is None else retryable
    assert body["canBeRetried"] is expected_retryable
    assert ("validation" in body) is (status == 422)
    assert fragment in body["error"], body["error"]
    return body


def api_http(sandbox, **kwargs) -> httpx.AsyncClient:
    """httpx against a sandbox's /v1 with its key: what every API call needs."""
    kwargs.setdefault("timeout", 10.0)
    return httpx.AsyncClient(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        **kwargs,
    )


def fields(body: dict) -> dict[str, str]:
    """`validation` as {field: message}."""
    return {item["field"]: item["message"] for item in body["validation"]}


async def create_company(http: httpx.AsyncClient, name: str = "Acme Ltd", **extra) -> dict:
    response = await http.post("/companies", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def click(url: str, **form: str) -> httpx.Response:
    """The customer's browser posting a Link page form: no API key."""
    async with httpx.AsyncClient(timeout=10.0) as browser:
        return await browser.post(url, data=form)


async def connect(http: httpx.AsyncClient, company_id: str, key: str = "QUICKBOOKS") -> dict:
    """Create a connection and allow it on its Link page; returns the connection."""
    response = await http.post(f"/companies/{company_id}/connections", json={"integrationKey": key})
    assert response.status_code == 201, response.text
    allowed = await click(response.json()["authUrl"], decision="allow")
    assert allowed.status_code == 200, allowed.text
    done = await http.get(f"/companies/{company_id}/authorizations/{response.json()['id']}")
    connection_id = done.json()["connectionId"]
    return (await http.get(f"/companies/{company_id}/connections/{connection_id}")).json()
