"""Injected faults: what `PUT /v1/sandbox/faults` sets, and the middleware
that answers with errors and delays accordingly."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from http import HTTPStatus

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from pydantic.alias_generators import to_camel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from s2b_tui.sandbox.server.errors import ApiError, error_response
from s2b_tui.sandbox.server.urls import API_PREFIX, SANDBOX_PREFIX, is_api_path


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
        if not is_api_path(path) or sandbox_call:
            return False
        return path[len(API_PREFIX) :].startswith(self.settings.path_prefix)

    def errors_due(self) -> bool:
        """Whether calls may still fail: a rate above 0, and errors left."""
        return self.settings.error_rate > 0 and self.settings.error_count != 0

    def draw_error(self) -> bool:
        """Whether this call fails; counts down `error_count`."""
        settings = self.settings
        if not self.errors_due():
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
