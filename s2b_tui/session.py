"""Reaching an API: a remote one by key and URL, or the embedded sandbox.

No Textual here: the console opens a `Session` in a worker, and tests open
one against their own sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
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
    from s2b_tui.sandbox.process import SandboxProcess


class EnvironmentKind(StrEnum):
    SANDBOX = "SANDBOX"
    TEST = "TEST"
    LIVE = "LIVE"


class SessionState(StrEnum):
    """How far the console is with its session."""

    CONNECTING = "connecting"
    READY = "ready"
    FAILED = "failed"
    CLOSED = "closed"  # the console is quitting: nothing more is asked of the API


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
        """The client; the same one again when asked again (a retry)."""
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
        self._client: Sync2BooksClient | None = None

    def describe(self) -> str:
        return f"connecting to {self.base_url}…"

    def preview(self) -> Environment:
        host = urlsplit(self.base_url).netloc or self.base_url
        return _preview(self.api_key.is_live, host, self.api_key.masked, self.read_only)

    async def open_client(self, on_request: RequestHook | None) -> Sync2BooksClient:
        if self._client is None:
            self._client = Sync2BooksClient(
                self.api_key, self.base_url, on_request=on_request, read_only=self.read_only
            )
        return self._client


class EmbeddedSandboxBackend(Backend):
    """The sandbox in a child process, on a free loopback port. The command
    line starts that process before the console loads (`process`)."""

    def __init__(
        self, data_dir: Path, *, process: SandboxProcess | None = None, read_only: bool = False
    ) -> None:
        self.data_dir = data_dir
        self.read_only = read_only
        self._process = process
        self._client: Sync2BooksClient | None = None

    @property
    def embedded(self) -> bool:
        return True

    def describe(self) -> str:
        return "starting sandbox…"

    async def open_client(self, on_request: RequestHook | None) -> Sync2BooksClient:
        if self._client is not None:
            return self._client
        if self._process is None:
            from s2b_tui.sandbox.process import SandboxProcess

            self._process = SandboxProcess(self.data_dir).start()
        process = self._process
        try:
            base_url, api_key = await asyncio.to_thread(process.wait_ready)
        except BaseException:
            self._process = None  # a retry starts a new one
            raise
        self._client = sandbox_client(
            api_key, base_url, on_request=on_request, read_only=self.read_only
        )
        return self._client

    async def close(self) -> None:
        self._client = None  # closed by its user
        if self._process is not None:
            process, self._process = self._process, None
            await asyncio.to_thread(process.stop)


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


def sandbox_client(api_key: str, base_url: str, **options: Any) -> Sync2BooksClient:
    """A client of a sandbox this machine serves on loopback (the embedded one).

    It uses the lean loopback transport (see `s2b_tui.api.loopback`), and no
    proxy from the environment: a proxy cannot reach this machine's 127.0.0.1,
    and HTTP(S)_PROXY would otherwise apply to it too."""
    from s2b_tui.api.loopback import LoopbackTransport

    return Sync2BooksClient(
        api_key, base_url, transport=LoopbackTransport(), trust_env=False, **options
    )


def _preview(is_live: bool, host: str, masked_key: str, read_only: bool) -> Environment:
    """TEST or LIVE from the key: shown until the API says it is a sandbox."""
    kind = EnvironmentKind.LIVE if is_live else EnvironmentKind.TEST
    return Environment(kind, host, masked_key, read_only=read_only)


def backend_for(settings: Settings, sandbox: SandboxProcess | None = None) -> Backend:
    """The backend `settings` describe; `sandbox`, the embedded sandbox if already started."""
    if settings.api_key is None:
        return EmbeddedSandboxBackend(
            settings.sandbox_data_dir, process=sandbox, read_only=settings.read_only
        )
    return RemoteBackend(ApiKey(settings.api_key), settings.base_url, read_only=settings.read_only)


async def open_session(
    backend: Backend,
    on_request: RequestHook | None = None,
    on_client: Callable[[Sync2BooksClient], None] | None = None,
) -> Session:
    """Open the client and learn where it is. Raises `Sync2BooksError` when the
    API cannot be used (unreachable, key refused); the caller shows it.

    `on_client` gets the client as soon as it exists, so that a caller can
    start its own first requests alongside these."""
    client = await backend.open_client(on_request)
    if on_client is not None:
        on_client(client)
    # Both at once: one round trip, not two, before the console is ready.
    probed, listed = await asyncio.gather(
        _probe_sandbox(client), _load_integrations(client), return_exceptions=True
    )
    for outcome in (probed, listed):  # the probe's error first: it says more
        if isinstance(outcome, BaseException):
            raise outcome
    assert not isinstance(probed, BaseException) and not isinstance(listed, BaseException)
    sandbox = probed
    integrations, note = listed
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


async def _probe_sandbox(client: Sync2BooksClient) -> SandboxInfo | None:
    """The sandbox's description, or None when the API is not a sandbox."""
    if client.is_live:  # a sandbox refuses live keys: do not even ask
        return None
    try:
        return await client.sandbox.info()
    except Sync2BooksError as exc:
        if exc.status_code is None or exc.status_code in (401, 403):
            raise  # unreachable, or the key is refused: nothing else will work
        return None  # any other answer: not a sandbox


async def _load_integrations(client: Sync2BooksClient) -> tuple[list[Integration], str | None]:
    try:
        integrations = await client.list_integrations()
    except Sync2BooksError as exc:
        if exc.status_code in (401, 403) or exc.status_code is None:
            raise
        return BUILT_IN_INTEGRATIONS, f"Showing the built-in integrations: {exc}"
    return (integrations or BUILT_IN_INTEGRATIONS), None
