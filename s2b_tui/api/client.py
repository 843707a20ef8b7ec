"""The async Sync2Books client.

One shared `httpx.AsyncClient`; every endpoint of API.md returns a pydantic
model. Safe calls are retried with exponential backoff and full jitter, and
`POST`/`PATCH` carry one `Idempotency-Key` per call, reused on every retry,
so a retried create never makes two companies.

Reading replies (JSON bodies, the typed error of a non-2xx reply) is in
`wire`; the sandbox's QA endpoints, `client.sandbox`, in `sandbox_controls`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError

from s2b_tui import __version__
from s2b_tui.api.errors import (
    ApiConnectionError,
    ApiTimeoutError,
    FieldProblem,
    InvalidResponseError,
    NotFoundError,
    ReadOnlyError,
    Sync2BooksError,
)
from s2b_tui.api.features import Feature
from s2b_tui.api.keys import ApiKey, ApiMode
from s2b_tui.api.models import (
    Authorization,
    Company,
    CompanyOrder,
    CompanyState,
    Connection,
    ConnectionStatus,
    Integration,
    IntegrationList,
    Page,
)
from s2b_tui.api.portfolio import PortfolioCalls, comma_list
from s2b_tui.api.sandbox_controls import SandboxControls
from s2b_tui.api.wire import (
    RETRYABLE_STATUSES,
    Reply,
    encode_json,
    error_from_response,
    reply_json,
    segment,
    shorten,
    walk_pages,
)

DEFAULT_BASE_URL = "https://api.sync2books.com/v1"
MUTATING_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to wait before trying a call again."""

    max_retries: int = 3
    backoff_base: float = 0.25  # seconds; the cap of the first wait
    backoff_max: float = 8.0
    retry_after_cap: float = 30.0  # a server's Retry-After is honoured up to this
    statuses: frozenset[int] = RETRYABLE_STATUSES

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        # Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))].
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)


DEFAULT_RETRY = RetryPolicy()
NO_RETRIES = RetryPolicy(max_retries=0)
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One finished API call, for the console's request log. Holds no secret."""

    method: str
    path: str
    status: int | None  # None when no reply came (connection failure, timeout)
    latency_ms: float  # the whole call, retries and waits included
    correlation_id: str | None
    retries: int
    error: str | None = None
    replayed: bool = False  # the server answered from its idempotency store


RequestHook = Callable[[RequestEvent], None]


@dataclass(slots=True)
class _Attempt:
    """What is known of a call while it is being retried."""

    retries: int = 0
    last_status: int | None = None
    correlation_id: str | None = None
    started: float = field(default_factory=time.perf_counter)


class Sync2BooksClient(PortfolioCalls):
    """Async client of the Sync2Books API v1.

    Use as `async with Sync2BooksClient(key, base_url) as client: ...`, or call
    `aclose()` when done. `on_request` is called once per finished call. The
    portfolio revision's calls come from `PortfolioCalls`.
    """

    def __init__(
        self,
        api_key: str | SecretStr | ApiKey,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        on_request: RequestHook | None = None,
        read_only: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        trust_env: bool = True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._key = api_key if isinstance(api_key, ApiKey) else ApiKey(api_key)
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Base URL must be an http(s) URL, not {base_url!r}")
        self.retry = retry
        self.read_only = read_only
        self.on_request = on_request
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            timeout=timeout,
            transport=transport,
            # Proxy and certificate settings from the environment (HTTPS_PROXY...).
            trust_env=trust_env,
            headers={"User-Agent": f"s2b-tui/{__version__}", "Accept": "application/json"},
            auth=_BearerAuth(self._key),
            follow_redirects=False,
            # Plain http (the embedded sandbox) never uses TLS: building an SSL
            # context and loading the CA bundle would only slow start-up.
            verify=parts.scheme == "https",
        )
        self.sandbox = SandboxControls(self)

    # -- identity -------------------------------------------------------------

    @property
    def mode(self) -> ApiMode:
        return self._key.mode

    @property
    def is_live(self) -> bool:
        return self._key.is_live

    @property
    def masked_key(self) -> str:
        return self._key.masked

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def __repr__(self) -> str:
        return f"Sync2BooksClient(base_url={self.base_url!r}, key={self.masked_key!r})"

    async def __aenter__(self) -> Sync2BooksClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- integrations ---------------------------------------------------------

    async def list_integrations(self) -> list[Integration]:
        reply = await self._request("GET", "integrations")
        return self._parse(IntegrationList, reply).results

    # -- companies ------------------------------------------------------------

    async def create_company(
        self,
        name: str,
        description: str | None = None,
        *,
        contact_email: str | None = None,
        idempotency_key: str | None = None,
    ) -> Company:
        body: dict[str, Any] = {"name": name}
        if description:
            body["description"] = description
        if contact_email is not None:
            await self._require(Feature.COMPANY_EDIT, "POST", "companies")
            body["contactEmail"] = contact_email
        reply = await self._request(
            "POST", "companies", json_body=body, idempotency_key=idempotency_key
        )
        return self._parse(Company, reply)

    async def list_companies(
        self,
        *,
        page: int = 1,
        page_size: int = 50,
        query: str | None = None,
        order_by: CompanyOrder | str | None = None,
        states: Iterable[CompanyState | str] | str | None = None,
        name: str | None = None,
    ) -> Page[Company]:
        """A page of companies. `states` (connectionState values) and `name`
        (exact, ignoring case) are of the portfolio revision: a server that
        lacks them would ignore them, so they are sent only once it is known
        to offer them (`NotOfferedError` otherwise)."""
        params: dict[str, Any] = {"page": page, "pageSize": page_size}
        if query:
            params["query"] = query
        if order_by:
            params["orderBy"] = str(order_by)
        state = comma_list(states)
        if state:
            params["state"] = state
        if name is not None:
            params["name"] = name
        if state or name is not None or str(order_by).lstrip("-") == "stateChangedAt":
            await self._require(Feature.STATES)
        reply = await self._request("GET", "companies", params=params)
        return self._parse(Page[Company], reply)

    def iter_companies(
        self,
        *,
        page_size: int = 100,
        query: str | None = None,
        order_by: CompanyOrder | str | None = None,
        states: Iterable[CompanyState | str] | str | None = None,
        name: str | None = None,
    ) -> AsyncIterator[Company]:
        """Every company, page after page."""

        async def fetch(page: int) -> Page[Company]:
            return await self.list_companies(
                page=page,
                page_size=page_size,
                query=query,
                order_by=order_by,
                states=states,
                name=name,
            )

        return walk_pages(fetch)

    async def get_company(self, company_id: str) -> Company:
        reply = await self._request("GET", f"companies/{segment(company_id)}")
        return self._parse(Company, reply)

    async def delete_company(self, company_id: str) -> None:
        await self._request("DELETE", f"companies/{segment(company_id)}")

    # -- connections ----------------------------------------------------------

    async def create_connection(
        self,
        company_id: str,
        integration_key: str,
        *,
        expires_in_minutes: int | None = None,
        idempotency_key: str | None = None,
    ) -> Authorization:
        """Start connecting an integration: the reply carries the authUrl.
        `expires_in_minutes` (portfolio revision) is the link's lifetime."""
        path = f"companies/{segment(company_id)}/connections"
        body: dict[str, Any] = {"integrationKey": str(integration_key)}
        if expires_in_minutes is not None:
            await self._require(Feature.AUTHORIZATIONS, "POST", path)
            body["expiresInMinutes"] = expires_in_minutes
        reply = await self._request(
            "POST",
            path,
            json_body=body,
            idempotency_key=idempotency_key,
        )
        return self._parse(Authorization, reply)

    async def list_connections(
        self, company_id: str, *, page: int = 1, page_size: int = 100
    ) -> Page[Connection]:
        reply = await self._request(
            "GET",
            f"companies/{segment(company_id)}/connections",
            params={"page": page, "pageSize": page_size},
        )
        return self._parse(Page[Connection], reply)

    def iter_connections(
        self, company_id: str, *, page_size: int = 500
    ) -> AsyncIterator[Connection]:
        async def fetch(page: int) -> Page[Connection]:
            return await self.list_connections(company_id, page=page, page_size=page_size)

        return walk_pages(fetch)

    async def all_connections(self, company_id: str) -> list[Connection]:
        return [c async for c in self.iter_connections(company_id)]

    async def get_connection(self, company_id: str, connection_id: str) -> Connection:
        reply = await self._request(
            "GET", f"companies/{segment(company_id)}/connections/{segment(connection_id)}"
        )
        return self._parse(Connection, reply)

    async def unlink_connection(
        self, company_id: str, connection_id: str, *, idempotency_key: str | None = None
    ) -> Connection:
        """Deauthorize: the connection becomes DISCONNECTED (idempotent)."""
        reply = await self._request(
            "PATCH",
            f"companies/{segment(company_id)}/connections/{segment(connection_id)}",
            json_body={"status": ConnectionStatus.DISCONNECTED.value},
            idempotency_key=idempotency_key,
        )
        return self._parse(Connection, reply)

    async def reauthorize_connection(
        self,
        company_id: str,
        connection_id: str,
        *,
        expires_in_minutes: int | None = None,
        idempotency_key: str | None = None,
    ) -> Authorization:
        path = f"companies/{segment(company_id)}/connections/{segment(connection_id)}/authorize"
        body: dict[str, Any] | None = None
        if expires_in_minutes is not None:
            await self._require(Feature.AUTHORIZATIONS, "POST", path)
            body = {"expiresInMinutes": expires_in_minutes}
        reply = await self._request(
            "POST",
            path,
            json_body=body,
            idempotency_key=idempotency_key,
        )
        return self._parse(Authorization, reply)

    async def delete_connection(self, company_id: str, connection_id: str) -> None:
        await self._request(
            "DELETE", f"companies/{segment(company_id)}/connections/{segment(connection_id)}"
        )

    async def get_authorization(self, company_id: str, authorization_id: str) -> Authorization:
        reply = await self._request(
            "GET", f"companies/{segment(company_id)}/authorizations/{segment(authorization_id)}"
        )
        return self._parse(Authorization, reply)

    # -- the machinery --------------------------------------------------------

    def _parse(self, model: type[ModelT], reply: Reply) -> ModelT:
        try:
            return model.model_validate(reply.body)
        except PydanticValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                for err in exc.errors()[:3]
            )
            raise self._invalid(
                f"The API's reply did not have the expected shape ({problems})", reply
            ) from None

    def _invalid(self, message: str, reply: Reply) -> InvalidResponseError:
        error = InvalidResponseError(
            message, status_code=reply.status, correlation_id=reply.correlation_id
        )
        self._scrubbed(error)
        return error

    def _scrub(self, text: str | None) -> str | None:
        """`text` with the key masked, should a server have echoed it."""
        if not text:
            return text
        secret = self._key.secret()
        random_part = secret.split("_", 2)[-1]  # also when echoed without its prefix
        if random_part not in text:
            return text
        return text.replace(secret, self._key.masked).replace(random_part, self._key.masked)

    def _scrubbed(self, error: Sync2BooksError) -> Sync2BooksError:
        """The error with every text in it scrubbed of the key (in place)."""
        error.message = self._scrub(error.message) or ""
        error.args = (error.message,)
        error.correlation_id = self._scrub(error.correlation_id)
        error.field_errors = [
            FieldProblem(self._scrub(p.field) or "", self._scrub(p.message) or "")
            for p in error.field_errors
        ]
        return error

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
    ) -> Reply:
        if self.read_only and method in MUTATING_METHODS:
            raise ReadOnlyError(f"{method} /{path} was not sent: this console is read-only")
        headers: dict[str, str] = {}
        if method in ("POST", "PATCH"):
            # One key per call, generated once and reused on every retry.
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        content = None
        if json_body is not None:
            content = encode_json(json_body)
            headers["Content-Type"] = "application/json"

        attempt = _Attempt()
        try:
            reply = await self._send_with_retries(method, path, params, content, headers, attempt)
        except Sync2BooksError as exc:
            self._scrubbed(exc)
            self._report(method, path, attempt, status=exc.status_code, error=exc)
            raise
        self._report(
            method,
            path,
            attempt,
            status=reply.status,
            replayed=reply.headers.get("Idempotent-Replayed") == "true",
        )
        return reply

    async def _send_with_retries(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        content: bytes | None,
        headers: dict[str, str],
        attempt: _Attempt,
    ) -> Reply:
        while True:
            try:
                response = await self._http.request(
                    method, path, params=params, content=content, headers=headers
                )
            except httpx.TimeoutException:
                error: Sync2BooksError = ApiTimeoutError(
                    f"{method} /{path} timed out", can_be_retried=True
                )
            except httpx.TransportError as exc:
                error = ApiConnectionError(
                    f"Could not reach the API at {self.host} ({_transport_reason(exc)})",
                    can_be_retried=True,
                )
            except httpx.DecodingError:
                # A Content-Encoding the body does not have: the reply is unreadable.
                raise InvalidResponseError(
                    f"The API's reply to {method} /{path} could not be decoded "
                    "(its Content-Encoding is wrong)"
                ) from None
            else:
                attempt.last_status = response.status_code
                attempt.correlation_id = (
                    shorten(response.headers.get("X-Correlation-Id", "").strip(), 100) or None
                )
                if response.is_success:
                    return Reply(
                        status=response.status_code,
                        body=reply_json(response) if response.content else None,
                        headers=response.headers,
                        correlation_id=attempt.correlation_id,
                        retries=attempt.retries,
                    )
                error = error_from_response(response, attempt.correlation_id)
                if method == "DELETE" and attempt.retries > 0 and isinstance(error, NotFoundError):
                    # A retried delete whose first reply was lost: it is gone.
                    return Reply(response.status_code, None, response.headers, None, 0)
            if not self._should_retry(error, attempt):
                raise error
            attempt.retries += 1
            await self._sleep(self.retry.delay(attempt.retries, error.retry_after, self._rng))

    def _should_retry(self, error: Sync2BooksError, attempt: _Attempt) -> bool:
        if attempt.retries >= self.retry.max_retries:
            return False
        if isinstance(error, ApiConnectionError | ApiTimeoutError):
            return True
        if error.status_code in self.retry.statuses:
            return True
        # A 409 the server marks retryable: the same idempotency key is in flight.
        return error.status_code == 409 and error.can_be_retried

    def _report(
        self,
        method: str,
        path: str,
        attempt: _Attempt,
        *,
        status: int | None,
        error: Sync2BooksError | None = None,
        replayed: bool = False,
    ) -> None:
        if self.on_request is None:
            return
        event = RequestEvent(
            method=method,
            path="/" + path,
            status=status,
            latency_ms=(time.perf_counter() - attempt.started) * 1000,
            correlation_id=self._scrub(
                (error.correlation_id if error else None) or attempt.correlation_id
            ),
            retries=attempt.retries,
            error=str(error) if error else None,
            replayed=replayed,
        )
        with contextlib.suppress(Exception):  # a broken log must never break a call
            self.on_request(event)


class _BearerAuth(httpx.Auth):
    """Adds the key at the last moment, so no local variable of the client's
    frames ever holds it (tracebacks that show locals stay clean)."""

    def __init__(self, key: ApiKey) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {self._key.secret()}"
        yield request

    def __repr__(self) -> str:
        return f"_BearerAuth({self._key.masked!r})"


def _transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    # Never let a URL with credentials or a long chain reach the user.
    return text.splitlines()[0][:160]
