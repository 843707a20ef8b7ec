"""Reaching an API: a remote one by key and URL, or the embedded sandbox.

No Textual here: the console opens a `Session` in a worker, and tests open
one against their own sandbox.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from s2b_tui.api import (
    INTEGRATION_NAMES,
    ApiKey,
    Integration,
    SandboxInfo,
    Sync2BooksClient,
    Sync2BooksError,
)
from s2b_tui.api.client import RequestHook

if TYPE_CHECKING:
    from s2b_tui.config import Settings
    from s2b_tui.sandbox import EmbeddedSandbox


class EnvironmentKind(StrEnum):
    SANDBOX = "SANDBOX"
    TEST = "TEST"
    LIVE = "LIVE"


BUILT_IN_INTEGRATIONS = [Integration(key=k, name=v) for k, v in INTEGRATION_NAMES.items()]


@dataclass(frozen=True)
class Environment:
    """Where the console is: shown in every screen's header."""

    kind: EnvironmentKind
    host: str
    masked_key: str
    read_only: bool = False
    embedded: bool = False

    @property
    def is_live(self) -> bool:
        return self.kind is EnvironmentKind.LIVE


@dataclass
class Session:
    client: Sync2BooksClient
    environment: Environment
    sandbox: SandboxInfo | None
    integrations: list[Integration]
    integrations_note: str | None = None  # why the built-in list is shown


class Backend:
    """How a console reaches its API. `describe()` says what `open()` is doing."""

    read_only: bool = False

    def describe(self) -> str:
        raise NotImplementedError

    def preview(self) -> Environment | None:
        """Where the console points, as far as is known before connecting."""
        return None

    async def open_client(self, on_request: RequestHook | None) -> Sync2BooksClient:
        raise NotImplementedError

    async def close(self) -> None:
        """Release what `open_client` started (the embedded sandbox)."""

    @property
    def embedded(self) -> bool:
        return False


class RemoteBackend(Backend):
    def __init__(self, api_key: ApiKey, base_url: str, *, read_only: bool = False) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.read_only = read_only

    def describe(self) -> str:
        return f"connecting to {self.base_url}…"

    def preview(self) -> Environment:
        host = urlsplit(self.base_url).netloc or self.base_url
        return _preview(self.api_key.is_live, host, self.api_key.masked, self.read_only)

    async def open_client(self, on_request: RequestHook | None) -> Sync2BooksClient:
        return Sync2BooksClient(
            self.api_key, self.base_url, on_request=on_request, read_only=self.read_only
        )


class EmbeddedSandboxBackend(Backend):
    """Starts the sandbox in this process, on a free loopback port."""

    def __init__(self, data_dir: Path, *, read_only: bool = False) -> None:
        self.data_dir = data_dir
        self.read_only = read_only
        self._sandbox: EmbeddedSandbox | None = None

    @property
    def embedded(self) -> bool:
        return True

    def describe(self) -> str:
        return "starting sandbox…"

    def _start_sandbox(self) -> EmbeddedSandbox:
        """In a thread: importing FastAPI and uvicorn (only when a sandbox is
        used) and starting the server never block the console's event loop."""
        from s2b_tui.sandbox import EmbeddedSandbox

        return EmbeddedSandbox(self.data_dir).start()

    async def open_client(self, on_request: RequestHook | None) -> Sync2BooksClient:
        if self._sandbox is None:
            self._sandbox = await asyncio.to_thread(self._start_sandbox)
        return Sync2BooksClient(
            self._sandbox.api_key,
            self._sandbox.base_url,
            on_request=on_request,
            read_only=self.read_only,
        )

    async def close(self) -> None:
        if self._sandbox is not None:
            sandbox, self._sandbox = self._sandbox, None
            await asyncio.to_thread(sandbox.stop)


class ClientBackend(Backend):
    """A client made elsewhere (tests, scripts)."""

    def __init__(self, client: Sync2BooksClient) -> None:
        self.client = client
        self.read_only = client.read_only

    def describe(self) -> str:
        return f"connecting to {self.client.host}…"

    def preview(self) -> Environment:
        client = self.client
        return _preview(client.is_live, client.host, client.masked_key, client.read_only)

    async def open_client(self, on_request: RequestHook | None) -> Sync2BooksClient:
        if on_request is not None:
            self.client.on_request = on_request
        return self.client


def _preview(is_live: bool, host: str, masked_key: str, read_only: bool) -> Environment:
    """TEST or LIVE from the key: shown until the API says it is a sandbox."""
    kind = EnvironmentKind.LIVE if is_live else EnvironmentKind.TEST
    return Environment(kind, host, masked_key, read_only=read_only)


def backend_for(settings: Settings) -> Backend:
    if settings.api_key is None:
        return EmbeddedSandboxBackend(settings.sandbox_data_dir, read_only=settings.read_only)
    return RemoteBackend(ApiKey(settings.api_key), settings.base_url, read_only=settings.read_only)


async def open_session(backend: Backend, on_request: RequestHook | None = None) -> Session:
    """Open the client and learn where it is. Raises `Sync2BooksError` when the
    API cannot be used (unreachable, key refused); the caller shows it."""
    client = await backend.open_client(on_request)
    sandbox: SandboxInfo | None = None
    if not client.is_live:  # a sandbox refuses live keys: do not even ask
        try:
            sandbox = await client.sandbox.info()
        except Sync2BooksError as exc:
            if exc.status_code is None or exc.status_code in (401, 403):
                raise  # unreachable, or the key is refused: nothing else will work
            sandbox = None  # any other answer: not a sandbox
    integrations, note = await _load_integrations(client)
    if sandbox is not None:
        kind = EnvironmentKind.SANDBOX
    elif client.is_live:
        kind = EnvironmentKind.LIVE
    else:
        kind = EnvironmentKind.TEST
    environment = Environment(
        kind=kind,
        host=client.host,
        masked_key=client.masked_key,
        read_only=client.read_only,
        embedded=backend.embedded,
    )
    return Session(client, environment, sandbox, integrations, note)


async def _load_integrations(client: Sync2BooksClient) -> tuple[list[Integration], str | None]:
    try:
        integrations = await client.list_integrations()
    except Sync2BooksError as exc:
        if exc.status_code in (401, 403) or exc.status_code is None:
            raise
        return BUILT_IN_INTEGRATIONS, f"Showing the built-in integrations: {exc}"
    return (integrations or BUILT_IN_INTEGRATIONS), None
