"""The sandbox's HTTP API: API.md implemented with FastAPI over `SandboxStore`.

Layers, outermost first (each a plain ASGI middleware):

1. correlation ids on every response, and a JSON 500 for any crash;
2. the 1 MiB body limit (413), enforced while the body streams in;
3. API key check for everything under /v1 (401);
4. injected faults (errors before the handler, latency after it);
5. idempotency (replays, conflicts), stored in SQLite.

Then the FastAPI routes, which call the store directly: SQLite answers in
well under a millisecond for everything but seeding, which runs in a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import sqlite3
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from s2b_tui import __version__
from s2b_tui.api.keys import KEY_PATTERN
from s2b_tui.api.models import (
    INTEGRATION_NAMES,
    Authorization,
    Company,
    CompanyOrder,
    Connection,
    ConnectionStatus,
    ErrorBody,
    FieldError,
    Integration,
    IntegrationKey,
    IntegrationList,
    Page,
    SandboxInfo,
)
from s2b_tui.api.validation import (
    DESCRIPTION_MAX,
    NAME_MAX,
    PAGE_SIZE_MAX,
    description_problem,
    has_control_characters,
    idempotency_key_problem,
    name_problem,
    normalize_name,
)
from s2b_tui.sandbox import link_pages
from s2b_tui.sandbox.store import (
    SEED_MAX,
    AuthorizationRecord,
    CompanyRecord,
    Conflict,
    ConnectionRecord,
    Gone,
    IdempotencyState,
    NotFound,
    SandboxStore,
    key_digest,
)

API_PREFIX = "/v1"
SANDBOX_PREFIX = f"{API_PREFIX}/sandbox"
MAX_BODY_BYTES = 1024 * 1024

logger = logging.getLogger("s2b_tui.sandbox")
# No output unless the program configures logging: the embedded sandbox
# shares a terminal with the console (`serve` configures stderr logging).
logger.addHandler(logging.NullHandler())


# ================================================================ errors


class ApiError(Exception):
    """An error reply: status, a sentence, optional field errors and headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        validation: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.validation = validation
        self.headers = headers or {}
        self.retryable = retryable

    @classmethod
    def invalid(cls, problems: list[FieldError]) -> ApiError:
        return cls(422, _validation_sentence(problems), validation=problems)


def correlation_id_of(scope: Scope) -> str:
    """This request's correlation id, made on first use."""
    state = scope.setdefault("state", {})
    if "correlation_id" not in state:
        state["correlation_id"] = uuid.uuid4().hex
    return state["correlation_id"]


def error_response(scope: Scope, error: ApiError) -> JSONResponse:
    """The body API.md's Errors section describes; `validation` only on 422."""
    retryable = error.status == 429 or error.status >= 500
    body = ErrorBody(
        status_code=error.status,
        error=error.message,
        correlation_id=correlation_id_of(scope),
        can_be_retried=retryable if error.retryable is None else error.retryable,
        validation=error.validation if error.status == 422 else None,
    )
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True, exclude_none=True),
        status_code=error.status,
        headers=error.headers,
    )


# How a field is named in a one-problem sentence ("Company name must not be empty").
_FIELD_LABELS = {
    "name": "Company name",
    "description": "Company description",
    "integrationKey": "Integration key",
    "status": "Status",
    "errorCode": "Error code",
    "message": "Error message",
    "decision": "Decision",
    "page": "Page",
    "pageSize": "Page size",
    "query": "Search query",
    "orderBy": "Sort order",
    "Idempotency-Key": "Idempotency-Key header",
    "body": "Request body",
    "companies": "Number of companies",
    "connectionsPerCompany": "Connections per company",
}


def _validation_sentence(problems: list[FieldError]) -> str:
    if len(problems) == 1 and problems[0].field in _FIELD_LABELS:
        return f"{_FIELD_LABELS[problems[0].field]} {problems[0].message}"
    details = "; ".join(f"{p.field} {p.message}" for p in problems)
    return f"Invalid request: {details}"


def _field_name(loc: tuple) -> str:
    """("body", "name") -> "name"; ("query", "pageSize") -> "pageSize"; ("body",) -> "body"."""
    where, *rest = loc
    return ".".join(str(part) for part in rest) or str(where)


def _field_message(error: dict) -> str:
    """A short, lower-case clause for one pydantic error."""
    kind, ctx = error["type"], error.get("ctx") or {}
    messages = {
        "missing": "is required",
        "extra_forbidden": "is not a known field",
        "string_type": "must be a string",
        "int_type": "must be an integer",
        "int_parsing": "must be an integer",
        "int_from_float": "must be an integer",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "finite_number": "must be a finite number",
        "bool_type": "must be true or false",
        "model_attributes_type": "must be a JSON object",
        "dict_type": "must be a JSON object",
    }
    if kind in messages:
        return messages[kind]
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind in ("literal_error", "enum"):
        return f"must be {ctx['expected']}"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return "has an invalid format"
    return error["msg"]  # our own validators' messages are already clauses


def _validation_error(exc: RequestValidationError) -> ApiError:
    errors = list(exc.errors())
    for error in errors:
        if error["type"] == "json_invalid":
            return ApiError(400, "Request body is not valid JSON")
        if error["loc"] == ("body",) and isinstance(error.get("input"), bytes):
            # FastAPI hands over raw bytes when the Content-Type is not JSON.
            return ApiError(400, "Request body must be JSON (Content-Type: application/json)")
    problems = [
        FieldError(field=_field_name(tuple(e["loc"])), message=_field_message(e)) for e in errors
    ]
    return ApiError.invalid(problems)


def _store_error_status(exc: Exception) -> int:
    return {NotFound: 404, Conflict: 409, Gone: 410}[type(exc)]


def _is_busy(exc: BaseException) -> bool:
    """Another process (or a big seed) held the write lock past the busy timeout."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _busy() -> ApiError:
    return ApiError(503, "The sandbox database is busy; try again", headers={"Retry-After": "1"})


async def _handle(request: Request, exc: Exception) -> Response:
    """One exception handler for everything FastAPI raises or we raise."""
    scope = request.scope
    if isinstance(exc, ApiError):
        error = exc
    elif isinstance(exc, BodyTooLarge):
        error = _too_large()
    elif isinstance(exc, RequestValidationError):
        error = _validation_error(exc)
    elif isinstance(exc, NotFound | Conflict | Gone):
        error = ApiError(_store_error_status(exc), str(exc))
    elif _is_busy(exc):
        error = _busy()
    elif isinstance(exc, StarletteHTTPException):
        phrase = HTTPStatus(exc.status_code).phrase.capitalize()
        message = {
            404: "No such endpoint",
            # FastAPI's answer to a body json.loads gave up on, other than bad syntax.
            400: "Request body could not be read as JSON (nested too deeply, or a number too long)",
        }.get(exc.status_code, phrase)
        error = ApiError(exc.status_code, message, headers=dict(exc.headers or {}))
    else:
        raise exc
    return error_response(scope, error)


# ============================================================ middleware


class CorrelationMiddleware:
    """Gives every response an `X-Correlation-Id`; turns a crash into a JSON 500
    (or a 503 when the database stayed locked)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = correlation_id_of(scope)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0] != b"x-correlation-id"),
                    (b"x-correlation-id", correlation_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Raised outside the routes (by the middleware below) or not handled there.
            if _is_busy(exc):
                error = _busy()
            else:
                logger.exception("unhandled error (correlation id %s)", correlation_id)
                error = ApiError(500, "The sandbox had an internal error")
            if started:
                raise
            await error_response(scope, error)(scope, receive, send_with_id)


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive`. An HTTPException, so FastAPI passes it on
    instead of turning it into a 400 while it reads a body."""

    def __init__(self) -> None:
        super().__init__(413)


def _too_large(limit: int = MAX_BODY_BYTES) -> ApiError:
    return ApiError(413, f"Request body is larger than {limit:,} bytes")


class BodyLimitMiddleware:
    """413 for bodies over `limit` bytes, by Content-Length or, for chunked
    uploads, by counting: nothing ever reads more than `limit` + one chunk."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = _too_large(self.limit)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await error_response(scope, too_large)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await error_response(scope, too_large)(scope, receive, send)


def _is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class AuthMiddleware:
    """Checks `Authorization: Bearer <key>` for every /v1 request and puts
    the key's digest in the scope state for idempotency. The key itself is
    never logged or echoed."""

    def __init__(self, app: ASGIApp, store: SandboxStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        key = self._valid_key(dict(scope["headers"]).get(b"authorization"))
        if isinstance(key, ApiError):
            await error_response(scope, key)(scope, receive, send)
            return
        scope.setdefault("state", {})["key_digest"] = key_digest(key)
        await self.app(scope, receive, send)

    def _valid_key(self, header: bytes | None) -> str | ApiError:
        """The key of an `Authorization` header, or the 401 refusing it."""

        def refuse(message: str) -> ApiError:
            return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})

        if not header:
            return refuse(
                "Missing API key: send the header Authorization: Bearer sk_test_… "
                "(`s2b-tui sandbox serve` prints the key)"
            )
        parts = header.decode("latin-1").split()
        if len(parts) != 2 or parts[0].lower() != "bearer" or not KEY_PATTERN.fullmatch(parts[1]):
            return refuse(
                "Malformed API key: expected Authorization: Bearer followed by sk_test_ "
                "and at least 16 letters or digits"
            )
        key = parts[1]
        if key.startswith("sk_live_"):
            return refuse(
                "Live keys cannot be used against a sandbox: use the sandbox's sk_test_ key, "
                "not an sk_live_ one"
            )
        if not self.store.check_key(key):
            return refuse(
                "Unknown or revoked API key: this sandbox did not issue it, or it was revoked"
            )
        return key


class FaultSettings(BaseModel):
    """Injected faults (`PUT /sandbox/faults`); `{}` turns them all off."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    latency_ms: StrictInt = Field(0, ge=0, le=60_000, description="delay added to each reply")
    error_rate: StrictFloat = Field(
        0.0, ge=0, le=1, allow_inf_nan=False, description="share of calls that fail, 0 to 1"
    )
    error_status: StrictInt = Field(503, ge=400, le=599, description="status of injected errors")
    path_prefix: StrictStr = Field(
        "",
        max_length=200,
        pattern=r"^(/[\x21-\x7e]*)?$",
        description="only paths under /v1 that start with this, e.g. /companies",
    )
    retry_after: StrictInt = Field(1, ge=0, le=3600, description="Retry-After of 429 and 503")
    error_count: StrictInt | None = Field(
        None, ge=1, description="stop after this many injected errors (remaining, when read)"
    )


@dataclass
class FaultState:
    """The current faults of one server process (deliberately not shared)."""

    settings: FaultSettings = field(default_factory=FaultSettings)
    rng: random.Random = field(default_factory=random.Random)

    def applies_to(self, path: str) -> bool:
        """API calls under `path_prefix`; never /v1/sandbox itself."""
        sandbox_call = path == SANDBOX_PREFIX or path.startswith(SANDBOX_PREFIX + "/")
        if not _is_api_path(path) or sandbox_call:
            return False
        return path[len(API_PREFIX) :].startswith(self.settings.path_prefix)

    def draw_error(self) -> bool:
        """Whether this call fails; counts down `error_count`."""
        settings = self.settings
        if settings.error_rate <= 0 or settings.error_count == 0:
            return False
        if self.rng.random() >= settings.error_rate:
            return False
        if settings.error_count is not None:
            self.settings = settings.model_copy(update={"error_count": settings.error_count - 1})
        return True


class FaultMiddleware:
    """Injected errors answer before the handler runs (nothing changes).
    Latency is added after it ran, when the response starts: the write is
    committed and its idempotent reply stored, only the answer is late, as
    when a reply is lost to a client timeout."""

    def __init__(self, app: ASGIApp, faults: FaultState) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.faults.applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        settings = self.faults.settings
        delay = settings.latency_ms / 1000

        async def late_send(message: Message) -> None:
            if message["type"] == "http.response.start" and delay:
                await asyncio.sleep(delay)
            await send(message)

        if self.faults.draw_error():
            status = settings.error_status
            headers = {"Retry-After": str(settings.retry_after)} if status in (429, 503) else {}
            message = f"{HTTPStatus(status).phrase} (fault injected by the sandbox)"
            error = ApiError(status, message, headers=headers)
            await error_response(scope, error)(scope, receive, late_send)
            return
        await self.app(scope, receive, late_send)


class IdempotencyMiddleware:
    """API.md, Idempotency: POST and PATCH with an `Idempotency-Key` run once
    per (API key, idempotency key); later tries get the stored reply."""

    def __init__(self, app: ASGIApp, store: SandboxStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key_bytes = None
        if scope["type"] == "http" and scope["method"] in ("POST", "PATCH"):
            key_bytes = dict(scope["headers"]).get(b"idempotency-key")
        # Only authenticated API calls get here with a key digest.
        if key_bytes is None or "key_digest" not in scope.get("state", {}):
            await self.app(scope, receive, send)
            return
        key = key_bytes.decode("latin-1")
        problem = idempotency_key_problem(key)
        if problem is not None:
            error = ApiError.invalid([FieldError(field="Idempotency-Key", message=problem)])
            await error_response(scope, error)(scope, receive, send)
            return

        body = await _read_body(receive)
        owner = scope["state"]["key_digest"]
        outcome = self.store.idempotency_begin(
            owner, key, scope["method"], scope["path"], hashlib.sha256(body).hexdigest()
        )
        if outcome.state is IdempotencyState.REPLAY:
            assert outcome.status is not None and outcome.body is not None
            replay = Response(
                outcome.body,
                status_code=outcome.status,
                media_type=outcome.content_type,
                headers={"Idempotent-Replayed": "true"},
            )
            await replay(scope, receive, send)
            return
        if outcome.state is not IdempotencyState.NEW:
            error = (
                ApiError(
                    409,
                    "A request with this Idempotency-Key is still in progress; retry shortly",
                    retryable=True,
                )
                if outcome.state is IdempotencyState.IN_FLIGHT
                else ApiError.invalid(
                    [
                        FieldError(
                            field="Idempotency-Key",
                            message="was already used for a different request",
                        )
                    ]
                )
            )
            await error_response(scope, error)(scope, receive, send)
            return

        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, _replaying(body, receive), capture)
        except BaseException:
            self.store.idempotency_abandon(owner, key)
            raise
        status = start["status"]
        reply = b"".join(chunks)
        if status < 500:
            content_type = dict(start.get("headers", ())).get(b"content-type", b"").decode()
            self.store.idempotency_finish(owner, key, status, content_type, reply)
        else:
            self.store.idempotency_abandon(owner, key)  # a retry must run it again
        await send(start)
        await send({"type": "http.response.body", "body": reply})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands out `body` once, then defers to the real one."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


# ======================================================= request bodies


class RequestBody(BaseModel):
    """Request bodies: camelCase, unknown fields refused (422)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)


# The JSON Schema patterns say what the validators enforce, so generated
# requests (schemathesis) that match the schema are accepted.
# No controls, and no unpaired surrogates (\ud800-\udfff: not text).
_NAME_PATTERN = (
    r"^[^\x00-\x1f\x7f-\x9f\ud800-\udfff]*[^\s\x00-\x1f\x7f-\x9f\ud800-\udfff]"
    r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]*$"
)
_DESCRIPTION_PATTERN = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]*$"


class CreateCompanyRequest(RequestBody):
    name: StrictStr = Field(
        description="trimmed; 1 to 100 characters; no control characters",
        json_schema_extra={"minLength": 1, "maxLength": NAME_MAX, "pattern": _NAME_PATTERN},
    )
    description: StrictStr | None = Field(
        None,
        description="at most 500 characters; no control characters but line breaks",
        json_schema_extra={"maxLength": DESCRIPTION_MAX, "pattern": _DESCRIPTION_PATTERN},
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        problem = name_problem(value)
        if problem:
            raise PydanticCustomError("company_name", problem)
        return normalize_name(value)

    @field_validator("description")
    @classmethod
    def _valid_description(cls, value: str | None) -> str | None:
        problem = description_problem(value)
        if problem:
            raise PydanticCustomError("company_description", problem)
        return value or None  # an empty description is no description


class CreateConnectionRequest(RequestBody):
    integration_key: IntegrationKey


class UpdateConnectionRequest(RequestBody):
    status: Literal["DISCONNECTED"] = Field(
        description="the only change: unlink (deauthorize) the connection"
    )


class SimulateRequest(RequestBody):
    status: ConnectionStatus
    error_code: StrictStr | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]{0,63}$")
    message: StrictStr | None = Field(
        None, json_schema_extra={"maxLength": DESCRIPTION_MAX, "pattern": _DESCRIPTION_PATTERN}
    )

    @field_validator("message")
    @classmethod
    def _valid_message(cls, value: str | None) -> str | None:
        problem = description_problem(value)
        if problem:
            raise PydanticCustomError("error_message", problem)
        return value


class CompleteRequest(RequestBody):
    decision: Literal["allow", "deny"]


class SeedRequest(RequestBody):
    companies: StrictInt = Field(ge=1, le=SEED_MAX)
    connections_per_company: StrictInt = Field(1, ge=0, le=len(INTEGRATION_NAMES))
    seed: StrictInt | None = Field(None, description="makes names and statuses reproducible")


class SeedResult(BaseModel):
    created: int


# ============================================================ converting


def _origin(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _link(origin: str, token: str) -> str:
    return f"{origin}/link/{token}"


# A reply is built as plain fields and validated once, as a whole: a pydantic
# model per company and per connection costs twice as much.


def connection_fields(record: ConnectionRecord) -> dict[str, Any]:
    """A `Connection`'s fields, for validation."""
    error = None
    if record.status == ConnectionStatus.ERROR and record.error_code:
        error = {
            "code": record.error_code,
            "message": record.error_message or "",
            "occurred_at": record.error_occurred_at,
        }
    return {
        "id": record.id,
        "company_id": record.company_id,
        "integration_key": record.integration_key,
        "platform_name": INTEGRATION_NAMES.get(record.integration_key, record.integration_key),
        "status": record.status,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "last_sync_at": record.last_sync_at,
        "error": error,
    }


def company_fields(record: CompanyRecord, origin: str) -> dict[str, Any]:
    """A `Company`'s fields, with its connections, for validation."""
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "created_at": record.created_at,
        "auth_url": _link(origin, record.link_token),
        "connections": [connection_fields(c) for c in record.connections],
    }


def connection_model(record: ConnectionRecord) -> Connection:
    return Connection.model_validate(connection_fields(record))


def company_model(record: CompanyRecord, origin: str) -> Company:
    return Company.model_validate(company_fields(record, origin))


def authorization_model(record: AuthorizationRecord, origin: str) -> Authorization:
    return Authorization(
        id=record.id,
        company_id=record.company_id,
        integration_key=record.integration_key,
        platform_name=INTEGRATION_NAMES.get(record.integration_key, record.integration_key),
        auth_url=_link(origin, record.token),
        status=record.status,
        expires_at=record.expires_at,
        connection_id=record.connection_id,
    )


# ================================================================ routes


async def _store(request: Request) -> SandboxStore:
    # async: FastAPI runs a plain `def` dependency in its thread pool, and
    # under load that hop cost more than a small page's whole query.
    return request.app.state.store


def _faults(request: Request) -> FaultState:
    return request.app.state.faults


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="sk_test_…",
    description="The sandbox's key, printed by `s2b-tui sandbox serve`.",
)


async def _api_key(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str:
    """The caller's key digest. AuthMiddleware has checked the key already;
    this declares the scheme in OpenAPI and refuses anything that slipped by."""
    digest = request.scope.get("state", {}).get("key_digest")
    if digest is None:
        raise ApiError(401, "Missing API key", headers={"WWW-Authenticate": "Bearer"})
    return digest


StoreDep = Annotated[SandboxStore, Depends(_store)]
CompanyId = Annotated[str, Path(alias="companyId")]
ConnectionId = Annotated[str, Path(alias="connectionId")]
PageNumber = Annotated[int, Query(ge=1, description="1-based")]
PageSize = Annotated[int, Query(alias="pageSize", ge=1, le=PAGE_SIZE_MAX)]

_IDEMPOTENT = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Run this request at most once; a retry gets the stored reply.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[ -~]+$"},
        }
    ]
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
# Every error status an operation can answer, each with the API.md error body,
# so generated tests (schemathesis) can check that nothing else comes back.
# Injected faults (`PUT /sandbox/faults`) are the one exception: they answer
# with whatever `errorStatus` says.
_ERROR_DESCRIPTIONS = {
    400: "The body is not JSON: malformed, or sent with another Content-Type",
    401: "Missing, malformed, unknown or revoked API key, or an sk_live_ key",
    404: "No such company, connection or authorization",
    409: "A conflicting state, or a request with this Idempotency-Key is still in progress",
    410: "The authorization was already used or has expired",
    413: "The body is larger than 1 MiB",
    422: "A value is not acceptable; `validation` names each field",
    429: "Too many requests (an injected fault)",
    500: "An internal error",
    503: "The database is busy, or an injected fault",
}
# Any /v1 call: the key is checked, any body is limited, and the server can fail.
_ANY_CALL = (401, 413, 429, 500, 503)
# A JSON body is parsed and validated; POST and PATCH take an Idempotency-Key
# (422 when malformed or reused for another request, 409 while in flight).
_JSON_BODY = (400, 409, 422)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(statuses):
        response: dict[str, Any] = {
            "model": ErrorBody,
            "description": _ERROR_DESCRIPTIONS[status],
        }
        if status in (429, 503):
            response["headers"] = _RETRY_AFTER
        responses[status] = response
    return responses


api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(_api_key)], responses=_errors(*_ANY_CALL))


@api.get("/integrations", response_model=IntegrationList, tags=["integrations"])
async def list_integrations() -> IntegrationList:
    return IntegrationList(
        results=[Integration(key=key, name=name) for key, name in INTEGRATION_NAMES.items()]
    )


@api.post(
    "/companies",
    responses=_errors(*_JSON_BODY),
    status_code=201,
    response_model=Company,
    tags=["companies"],
    openapi_extra=_IDEMPOTENT,
)
async def create_company(body: CreateCompanyRequest, request: Request, store: StoreDep) -> Company:
    record = store.create_company(body.name, body.description)
    return company_model(record, _origin(request))


@api.get("/companies", responses=_errors(422), response_model=Page[Company], tags=["companies"])
async def list_companies(
    request: Request,
    store: StoreDep,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    query: Annotated[
        str | None,
        Query(max_length=200, description="case-insensitive substring of the name, or an id"),
    ] = None,
    order_by: Annotated[CompanyOrder, Query(alias="orderBy")] = CompanyOrder.CREATED_DESC,
) -> Page[Company]:
    if query is not None and has_control_characters(query):
        raise ApiError.invalid(
            [FieldError(field="query", message="must not contain control characters")]
        )
    records, total = store.list_companies(
        page=page, page_size=page_size, query=query, order_by=order_by
    )
    origin = _origin(request)
    return Page[Company].model_validate(
        {
            "results": [company_fields(r, origin) for r in records],
            "page_number": page,
            "page_size": page_size,
            "total_results": total,
        }
    )


@api.get(
    "/companies/{companyId}", responses=_errors(404), response_model=Company, tags=["companies"]
)
async def get_company(company_id: CompanyId, request: Request, store: StoreDep) -> Company:
    return company_model(store.get_company(company_id), _origin(request))


@api.delete(
    "/companies/{companyId}",
    responses=_errors(404),
    status_code=204,
    response_class=Response,
    tags=["companies"],
)
async def delete_company(company_id: CompanyId, store: StoreDep) -> Response:
    store.delete_company(company_id)
    return Response(status_code=204)


@api.post(
    "/companies/{companyId}/connections",
    responses=_errors(404, *_JSON_BODY),
    status_code=201,
    response_model=Authorization,
    tags=["connections"],
    openapi_extra=_IDEMPOTENT,
)
async def create_connection(
    company_id: CompanyId, body: CreateConnectionRequest, request: Request, store: StoreDep
) -> Authorization:
    record = store.start_authorization(company_id, body.integration_key)
    return authorization_model(record, _origin(request))


@api.get(
    "/companies/{companyId}/connections",
    responses=_errors(404, 422),
    response_model=Page[Connection],
    tags=["connections"],
)
async def list_connections(
    company_id: CompanyId, store: StoreDep, page: PageNumber = 1, page_size: PageSize = 50
) -> Page[Connection]:
    records, total = store.list_connections(company_id, page=page, page_size=page_size)
    return Page[Connection].model_validate(
        {
            "results": [connection_fields(r) for r in records],
            "page_number": page,
            "page_size": page_size,
            "total_results": total,
        }
    )


@api.get(
    "/companies/{companyId}/connections/{connectionId}",
    responses=_errors(404),
    response_model=Connection,
    tags=["connections"],
)
async def get_connection(
    company_id: CompanyId, connection_id: ConnectionId, store: StoreDep
) -> Connection:
    return connection_model(store.get_connection(company_id, connection_id))


@api.patch(
    "/companies/{companyId}/connections/{connectionId}",
    responses=_errors(404, *_JSON_BODY),
    response_model=Connection,
    tags=["connections"],
    openapi_extra=_IDEMPOTENT,
)
async def unlink_connection(
    company_id: CompanyId,
    connection_id: ConnectionId,
    body: UpdateConnectionRequest,
    store: StoreDep,
) -> Connection:
    return connection_model(store.disconnect(company_id, connection_id))


@api.post(
    "/companies/{companyId}/connections/{connectionId}/authorize",
    responses=_errors(404, 409, 422),
    status_code=201,
    response_model=Authorization,
    tags=["connections"],
    openapi_extra=_IDEMPOTENT,
)
async def reauthorize_connection(
    company_id: CompanyId, connection_id: ConnectionId, request: Request, store: StoreDep
) -> Authorization:
    record = store.reauthorize(company_id, connection_id)
    return authorization_model(record, _origin(request))


@api.delete(
    "/companies/{companyId}/connections/{connectionId}",
    responses=_errors(404),
    status_code=204,
    response_class=Response,
    tags=["connections"],
)
async def delete_connection(
    company_id: CompanyId, connection_id: ConnectionId, store: StoreDep
) -> Response:
    store.delete_connection(company_id, connection_id)
    return Response(status_code=204)


@api.get(
    "/companies/{companyId}/authorizations/{authorizationId}",
    responses=_errors(404),
    response_model=Authorization,
    tags=["connections"],
)
async def get_authorization(
    company_id: CompanyId,
    authorization_id: Annotated[str, Path(alias="authorizationId")],
    request: Request,
    store: StoreDep,
) -> Authorization:
    record = store.get_authorization(company_id, authorization_id)
    return authorization_model(record, _origin(request))


# ---------------------------------------------------- sandbox QA endpoints


@api.get("/sandbox", response_model=SandboxInfo, tags=["sandbox"])
async def sandbox_info(request: Request, store: StoreDep) -> SandboxInfo:
    return SandboxInfo(
        sandbox=True,
        version=request.app.version,
        link_ttl_seconds=int(store.link_ttl.total_seconds()),
        faults=_faults(request).settings.model_dump(mode="json", by_alias=True),
    )


@api.put(
    "/sandbox/faults", responses=_errors(400, 422), response_model=FaultSettings, tags=["sandbox"]
)
async def set_faults(body: FaultSettings, request: Request) -> FaultSettings:
    _faults(request).settings = body
    return body


@api.post(
    "/sandbox/companies/{companyId}/connections/{connectionId}/simulate",
    responses=_errors(404, *_JSON_BODY),
    response_model=Connection,
    tags=["sandbox"],
    openapi_extra=_IDEMPOTENT,
)
async def simulate(
    company_id: CompanyId, connection_id: ConnectionId, body: SimulateRequest, store: StoreDep
) -> Connection:
    if body.status != ConnectionStatus.ERROR and (body.error_code or body.message):
        field_name = "errorCode" if body.error_code else "message"
        raise ApiError.invalid(
            [FieldError(field=field_name, message="applies only to status ERROR")]
        )
    record = store.simulate(
        company_id,
        connection_id,
        body.status,
        error_code=body.error_code,
        error_message=body.message,
    )
    return connection_model(record)


@api.post(
    "/sandbox/authorizations/{authorizationId}/complete",
    responses=_errors(404, 410, *_JSON_BODY),
    response_model=Authorization,
    tags=["sandbox"],
    openapi_extra=_IDEMPOTENT,
)
async def complete_authorization(
    authorization_id: Annotated[str, Path(alias="authorizationId")],
    body: CompleteRequest,
    request: Request,
    store: StoreDep,
) -> Authorization:
    record = store.complete_authorization(authorization_id, allow=body.decision == "allow")
    return authorization_model(record, _origin(request))


@api.post(
    "/sandbox/seed",
    responses=_errors(*_JSON_BODY),
    response_model=SeedResult,
    tags=["sandbox"],
    openapi_extra=_IDEMPOTENT,
)
async def seed(body: SeedRequest, store: StoreDep) -> SeedResult:
    # In a worker thread: 100,000 companies take seconds, and the event loop
    # keeps answering meanwhile.
    created = await run_in_threadpool(
        store.seed,
        body.companies,
        connections_per_company=body.connections_per_company,
        seed=body.seed,
    )
    return SeedResult(created=created)


# ================================================================== app


_FRAMEWORK_422 = "#/components/schemas/HTTPValidationError"


def _documented_errors_only(app: FastAPI) -> None:
    """FastAPI documents a 422 of its own shape on every operation with a
    parameter; the sandbox answers its validation errors as ErrorBody and
    declares them where they can happen, so drop the framework's."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)  # caches it in app.openapi_schema
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    content = responses.get("422", {}).get("content", {})
                    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
                    if ref == _FRAMEWORK_422:
                        del responses["422"]
            schemas = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(store: SandboxStore, *, version: str = __version__) -> FastAPI:
    """The sandbox API over `store`. Faults live in this app object only."""
    app = FastAPI(
        title="Sync2Books API (sandbox)",
        version=version,
        description="The Sync2Books API v1 as the local sandbox implements it.",
        # A body without a Content-Type is read as JSON, as curl -d users expect.
        strict_content_type=False,
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.faults = FaultState()
    app.include_router(api)
    app.include_router(link_pages.router)
    _documented_errors_only(app)
    for exc_type in (
        ApiError,
        RequestValidationError,
        NotFound,
        Conflict,
        Gone,
        sqlite3.OperationalError,
        StarletteHTTPException,
    ):
        app.add_exception_handler(exc_type, _handle)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(IdempotencyMiddleware, store=store)
    app.add_middleware(FaultMiddleware, faults=app.state.faults)
    app.add_middleware(AuthMiddleware, store=store)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(CorrelationMiddleware)
    return app
