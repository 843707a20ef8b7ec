"""Error replies: `ApiError`, the API.md error body, and how other failures
become one (pydantic's validation errors, the store's refusals, a busy
database, Starlette's 404 and 405).
"""

from __future__ import annotations

import sqlite3
import uuid
from http import HTTPStatus

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from s2b_tui.api.models import ErrorBody, FieldError
from s2b_tui.sandbox.records import Conflict, Gone, NotFound, StoreError


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


def _field_name(loc: tuple[int | str, ...]) -> str:
    """("body", "name") -> "name"; ("query", "pageSize") -> "pageSize"; ("body",) -> "body"."""
    where, *rest = loc
    return ".".join(str(part) for part in rest) or str(where)


def _number(bound: int | float) -> str:
    """A bound as a person writes it: 1, not 1.0."""
    return str(int(bound)) if isinstance(bound, float) and bound.is_integer() else str(bound)


def _field_message(error: ErrorDetails) -> str:
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
        "model_type": "must be a JSON object",
        "dict_type": "must be a JSON object",
    }
    if kind in messages:
        return messages[kind]
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx['ge'])}"
    if kind == "less_than_equal":
        return f"must be at most {_number(ctx['le'])}"
    if kind in ("literal_error", "enum"):
        return f"must be {ctx['expected']}"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return "has an invalid format"
    return error["msg"]  # our own validators' messages are already clauses


def field_errors(where: str, exc: ValidationError) -> list[FieldError]:
    """pydantic's errors in the query or the body (`where`), as field errors."""
    return [
        FieldError(field=_field_name((where, *e["loc"])), message=_field_message(e))
        for e in exc.errors()
    ]


def _store_error_status(exc: StoreError) -> int:
    return {NotFound: 404, Conflict: 409, Gone: 410}[type(exc)]


def is_busy(exc: BaseException) -> bool:
    """Another process (or a big seed) held the write lock past the busy timeout."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def busy_error() -> ApiError:
    return ApiError(503, "The sandbox database is busy; try again", headers={"Retry-After": "1"})


async def handle_exception(request: Request, exc: Exception) -> Response:
    """One exception handler for what the routes raise, and for Starlette's
    404 (no route) and 405 (a route, but not for this method)."""
    if isinstance(exc, ApiError):
        error = exc
    elif isinstance(exc, NotFound | Conflict | Gone):
        error = ApiError(_store_error_status(exc), str(exc))
    elif is_busy(exc):
        error = busy_error()
    elif isinstance(exc, StarletteHTTPException):
        phrase = HTTPStatus(exc.status_code).phrase.capitalize()
        message = "No such endpoint" if exc.status_code == 404 else phrase
        error = ApiError(exc.status_code, message, headers=dict(exc.headers or {}))
    else:
        raise exc
    return error_response(request.scope, error)


# The exceptions `handle_exception` answers (a sqlite3.OperationalError only when busy).
HANDLED_EXCEPTIONS = (
    ApiError,
    NotFound,
    Conflict,
    Gone,
    sqlite3.OperationalError,
    StarletteHTTPException,
)
