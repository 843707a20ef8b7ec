"""Typed errors of the Sync2Books client.

Every error is a `Sync2BooksError`: it carries the status code, the server's
message, the correlation id and the field errors, and its `str()` is a
sentence a person can act on. None of them ever holds the API key.

    Sync2BooksError               any other status, and the base of all
    ├── InvalidApiKeyError        a malformed key: refused before any request
    ├── ReadOnlyError             a change asked of a read-only client: not sent
    ├── BadRequestError           400
    ├── AuthenticationError       401
    ├── PermissionDeniedError     403
    ├── NotFoundError             404
    ├── ConflictError             409
    ├── GoneError                 410
    │   └── FeedGoneError         the events feed's 410: reload, then follow on
    ├── UnprocessableEntityError  422, with the field errors
    ├── RateLimitError            429
    ├── ServerError               500 and up
    ├── ApiConnectionError        no reply: the API could not be reached
    ├── ApiTimeoutError           no reply in time
    ├── InvalidResponseError      a reply the client could not read
    └── NotOfferedError           the API lacks a feature of the portfolio revision
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str


class Sync2BooksError(Exception):
    """Base of every error the client raises."""

    #: What a person can do about it; subclasses set their own.
    hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        correlation_id: str | None = None,
        field_errors: list[FieldProblem] | None = None,
        can_be_retried: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.correlation_id = correlation_id
        self.field_errors = list(field_errors or [])
        self.can_be_retried = can_be_retried
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message.rstrip(".") + "."]
        if self.hint:
            parts.append(self.hint)
        if self.correlation_id:
            parts.append(f"(correlation id {self.correlation_id})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, "
            f"message={self.message!r}, correlation_id={self.correlation_id!r})"
        )

    def field_message(self, field: str) -> str | None:
        for problem in self.field_errors:
            if problem.field == field:
                return problem.message
        return None


class InvalidApiKeyError(Sync2BooksError):
    """The key is malformed; refused before any request is sent."""


class ReadOnlyError(Sync2BooksError):
    """A mutating call was attempted by a read-only client."""

    hint = "The console was started with --read-only."


class BadRequestError(Sync2BooksError):
    hint = "The request was malformed; this is a bug worth reporting."


class AuthenticationError(Sync2BooksError):
    hint = "Check S2B_API_KEY (and S2B_BASE_URL for the API it belongs to)."


class PermissionDeniedError(Sync2BooksError):
    hint = "This key is not allowed to do that."


class NotFoundError(Sync2BooksError):
    hint = "It may have been deleted; refresh the list."


class ConflictError(Sync2BooksError):
    pass


class GoneError(Sync2BooksError):
    hint = "The link was used or has expired; create a new one."


class UnprocessableEntityError(Sync2BooksError):
    """422: the request was understood but a value is not acceptable."""

    def __str__(self) -> str:
        base = super().__str__()
        if not self.field_errors:
            return base
        fields = "; ".join(f"{p.field}: {p.message}" for p in self.field_errors)
        return f"{base} [{fields}]"


class RateLimitError(Sync2BooksError):
    hint = "Too many requests; wait a moment and try again."


class ServerError(Sync2BooksError):
    hint = "The API had a problem; try again shortly."


class ApiConnectionError(Sync2BooksError):
    hint = "Check that the API is running and S2B_BASE_URL is right."


class ApiTimeoutError(Sync2BooksError):
    hint = "The API is slow or unreachable; try again."


class InvalidResponseError(Sync2BooksError):
    hint = "The API sent a reply the console could not read."


class NotOfferedError(Sync2BooksError):
    """The API does not offer a feature of the portfolio revision (a server of
    API v1's first revision): a 404, 400 or 405 from a [P] endpoint or
    parameter, or refused before sending when the client already knows.
    `feature` names it (a `s2b_tui.api.features.Feature` value)."""

    hint = "What needs it is not available on this API."

    def __init__(self, feature: str, description: str, **kwargs: Any) -> None:
        super().__init__(f"This API does not offer {description}", **kwargs)
        self.feature = feature
        self.description = description


class FeedGoneError(GoneError):
    """410 from `GET /events?after=`: events that old are no longer kept."""

    hint = "Reload what is shown, then follow the feed from its newest event."


_BY_STATUS: dict[int, type[Sync2BooksError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for(status_code: int) -> type[Sync2BooksError]:
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if status_code >= 500:
        return ServerError
    return Sync2BooksError
