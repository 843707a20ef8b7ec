"""Running the sandbox: in a background thread of any program (the console,
tests), or in the foreground for `s2b-tui sandbox serve`."""

from __future__ import annotations

import gc
import http.client
import ipaddress
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

import uvicorn

from s2b_tui.sandbox.common import DEFAULT_LINK_TTL, SandboxStartError
from s2b_tui.sandbox.server import create_app
from s2b_tui.sandbox.store import SandboxStore

START_TIMEOUT = 10.0
# Requests still running at stop() (e.g. an injected delay) get this long.
_GRACEFUL_SHUTDOWN_SECONDS = 2


class EmbeddedSandbox:
    """The sandbox API on a loopback port, served from a daemon thread.

    `start()` returns once it answers; then `base_url`, `origin`, `api_key`
    and `store` are set. `stop()` is idempotent. Nothing is printed: uvicorn
    logs warnings and errors only, through `logging`, and no access log.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
        new_token: Callable[[], str] | None = None,
        link_ttl: timedelta = DEFAULT_LINK_TTL,
        portfolio: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        # False: serve API.md's first revision only (see server.create_app).
        self.portfolio = portfolio
        # What the store is opened with, at start().
        self._clock = clock
        self._new_id = new_id
        self._new_token = new_token
        self._link_ttl = link_ttl
        self._store: SandboxStore | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._origin: str | None = None

    # ------------------------------------------------------------ state

    @property
    def store(self) -> SandboxStore:
        if self._store is None:
            raise RuntimeError("the sandbox is not started")
        return self._store

    @property
    def origin(self) -> str:
        """`http://HOST:PORT`, where the Link pages live."""
        if self._origin is None:
            raise RuntimeError("the sandbox is not started")
        return self._origin

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT/v1`, the API's base URL."""
        return f"{self.origin}/v1"

    @property
    def api_key(self) -> str:
        return self.store.api_key

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------- lifecycle

    def start(self, timeout: float = START_TIMEOUT) -> EmbeddedSandbox:
        """Open the store, bind the port, serve; raise SandboxStartError on failure."""
        if self._thread is not None:
            return self
        try:
            sock = _bind(self.host, self.port)
        except OSError as exc:
            raise SandboxStartError(
                f"Cannot listen on {_host_for_url(self.host)}:{self.port}: {exc.strerror or exc}"
            ) from exc
        try:
            self._store = SandboxStore(
                self.data_dir,
                clock=self._clock,
                new_id=self._new_id,
                new_token=self._new_token,
                link_ttl=self._link_ttl,
            )
        except (OSError, RuntimeError, sqlite3.Error) as exc:
            sock.close()
            raise SandboxStartError(
                f"Cannot use the sandbox data in {self.data_dir}: {exc}"
            ) from exc
        port = sock.getsockname()[1]
        self._origin = f"http://{_host_for_url(_reachable_host(self.host))}:{port}"
        config = uvicorn.Config(
            create_app(self._store, portfolio=self.portfolio),
            log_level="warning",
            access_log=False,
            # Leave the process's logging alone: a console draws on the terminal.
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
        )
        _quiet_uvicorn_loggers()
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name="s2b-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                failure = self._failure
                self.stop()
                reason = f": {failure}" if failure else " in time"
                raise SandboxStartError(f"The sandbox did not start{reason}") from failure
            time.sleep(0.01)
        try:
            self._first_request(port, timeout=max(deadline - time.monotonic(), 1.0))
        except (OSError, SandboxStartError) as exc:
            self.stop()
            raise SandboxStartError(f"The sandbox started but does not answer: {exc}") from exc
        return self

    def _first_request(self, port: int, timeout: float) -> None:
        """One authenticated list call: proves the whole stack answers, and
        warms it (the loop thread's database connection, SQLite's page cache),
        so the first real request is not 20-40 ms slower than the rest."""
        assert self._store is not None
        connection = http.client.HTTPConnection(_reachable_host(self.host), port, timeout=timeout)
        try:
            connection.request(
                "GET",
                "/v1/companies?pageSize=1",
                headers={"Authorization": f"Bearer {self._store.api_key}"},
            )
            status = connection.getresponse().status
        finally:
            connection.close()
        if status != 200:
            raise SandboxStartError(f"the first request answered {status}")

    def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        try:
            # In a non-main thread uvicorn installs no signal handlers.
            self._server.run(sockets=[sock])
        except BaseException as exc:  # reported by start(), or lost at exit
            self._failure = exc
        finally:
            sock.close()

    def stop(self) -> None:
        """Shut the server down, wait for its thread, close the database."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_GRACEFUL_SHUTDOWN_SECONDS + 5)
        if self._store is not None:
            self._store.close()
        self._server = self._thread = self._store = self._origin = None

    def __enter__(self) -> EmbeddedSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted sockets only
    # then, and without it every reply waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _reachable_host(host: str) -> str:
    """The address a local client should use: a wildcard bind is reached on loopback."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _quiet_uvicorn_loggers() -> None:
    # Without a handler in their hierarchy, uvicorn's warnings would reach
    # Python's last-resort stderr handler and draw over a console. They still
    # propagate to whatever handlers the program configured.
    logger = logging.getLogger("uvicorn")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _print_flushed(line: str) -> None:
    print(line, flush=True)  # visible at once even when stdout is a pipe


def serve(
    host: str,
    port: int,
    data_dir: str | os.PathLike[str],
    link_ttl: timedelta = DEFAULT_LINK_TTL,
    *,
    print_line: Callable[[str], None] | None = None,
) -> int:
    """Serve in the foreground until Ctrl-C, SIGINT or SIGTERM; returns the
    exit code. Call from the main thread (it handles those signals)."""
    print_line = print_line or _print_flushed
    # Warnings and errors (uvicorn's, the sandbox's) go to stderr, timestamped.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    # Handled explicitly rather than as KeyboardInterrupt: a server started
    # in the background by a script inherits an ignored SIGINT.
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    sandbox = EmbeddedSandbox(data_dir, host, port, link_ttl=link_ttl)
    try:
        try:
            sandbox.start()
        except SandboxStartError as exc:
            print_line(f"s2b-tui sandbox: {exc}")
            return 1
        # This process only serves: what exists now lives until exit, so
        # keeping it out of garbage collection makes the full collections
        # (felt as 20-40 ms pauses on large pages) cheap.
        gc.freeze()
        print_line(f"Sync2Books sandbox listening on {sandbox.base_url}")
        # Printed in full on purpose: a local sandbox key, and the way to get it.
        print_line(f"API key: {sandbox.api_key}")
        print_line(f"Data: {sandbox.data_dir.resolve()}")
        if not is_loopback(host):
            print_line(
                f"WARNING: listening on {host}, so the sandbox is reachable from other "
                "machines; anyone who can reach it can use the key printed above."
            )
        print_line("Press Ctrl-C to stop.")
        while not stop.wait(0.5):
            if not sandbox.running:
                print_line("s2b-tui sandbox: the server stopped unexpectedly")
                return 1
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sandbox.stop()
