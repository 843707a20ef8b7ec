"""Running a headless command: settings, the client, output, exit codes.

Every command is an async function `(ctx, args) -> int`. It writes its data
to `ctx.out` (stdout) and diagnostics through `ctx.note` (stderr). Errors are
raised, and mapped to exit codes here, once:

| code | meaning |
|---|---|
| 0 | done |
| 1 | the API answered with an error or could not be reached (or a file could not be written) |
| 2 | usage: bad arguments or input, a refused confirmation |
| 3 | not found |
| 4 | not signed in, or the key is malformed or refused |

A reader that goes away (`s2b-tui companies list --all | head`) ends the
command quietly with 0; Ctrl-C ends it with 130, or quietly with 0 for a
command that runs until stopped (`events --follow`: `quiet_interrupt`).

A server of API v1's first revision lacks the portfolio revision's options
and commands: they end with exit 1 and one line naming what is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from enum import IntEnum
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s2b_tui.api import Sync2BooksClient
    from s2b_tui.config import Settings
    from s2b_tui.session import Backend


class ExitCode(IntEnum):
    OK = 0
    API_ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    NOT_SIGNED_IN = 4
    INTERRUPTED = 130


class UsageError(Exception):
    """The command cannot run as asked (exit 2); the message says why."""


class CommandFailed(Exception):
    """The command ran and failed; the message is said, the code returned."""

    def __init__(self, message: str, code: int = ExitCode.API_ERROR) -> None:
        super().__init__(message)
        self.code = code


Handler = Callable[["Context", argparse.Namespace], Awaitable[int]]


def color_wanted(stream: IO[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and environ.get("TERM") != "dumb"


class Context:
    """What a running command has: its streams, settings and client."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        environ: Mapping[str, str] | None = None,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        parser: argparse.ArgumentParser | None = None,
    ) -> None:
        self.args = args
        self.parser = parser  # the whole command line's: `completion` reads it
        self.environ = os.environ if environ is None else environ
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.format: str | None = getattr(args, "format", None)
        self.color = color_wanted(self.out, self.environ)
        self.err_color = color_wanted(self.err, self.environ)
        self._settings: Settings | None = None
        self._backend: Backend | None = None
        self._client: Sync2BooksClient | None = None

    # -- diagnostics -----------------------------------------------------

    def note(self, message: str) -> None:
        """One line on stderr."""
        self.err.write(f"s2b-tui: {message}\n")
        self.err.flush()

    @property
    def stderr_is_tty(self) -> bool:
        return bool(getattr(self.err, "isatty", lambda: False)())

    @property
    def stdin_is_tty(self) -> bool:
        return bool(getattr(sys.stdin, "isatty", lambda: False)())

    # -- where -----------------------------------------------------------

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from s2b_tui.config import Settings

            args = self.args
            self._settings = Settings.resolve(
                environ=self.environ,
                base_url=getattr(args, "base_url", None),
                use_sandbox=bool(getattr(args, "sandbox", False)),
                data_dir=getattr(args, "data_dir", None),
                refresh_seconds=getattr(args, "refresh", None),
                read_only=getattr(args, "read_only", None),
                profile=getattr(args, "profile", None),
            )
        return self._settings

    async def client(self) -> Sync2BooksClient:
        """The API client the settings describe, opened once. With no key and
        no profile: the embedded sandbox, in its child process, as the console
        starts it (same data dir)."""
        if self._client is not None:
            return self._client
        from s2b_tui.session import backend_for

        settings = self.settings
        if settings.embedded_sandbox:
            self.note(
                f"no key and no profile: using the embedded sandbox ({settings.sandbox_data_dir})"
            )
        self._backend = backend_for(settings)
        self._client = await self._backend.open_client(None)
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        backend, self._backend = self._backend, None
        if client is not None:
            await client.aclose()
        if backend is not None:
            await backend.close()

    def describe_key(self) -> str:
        """`the TEST key sk_test_…abcd of profile qa (keyring)`, for messages."""
        settings = self._settings
        client = self._client
        if client is None or settings is None:
            return "the key"
        mode = "LIVE" if client.is_live else "TEST"
        if settings.profile:
            origin = f" of profile {settings.profile} ({settings.key_source})"
        elif settings.key_source:
            origin = f" from {settings.key_source}"
        else:
            origin = ""
        return f"the {mode} key {client.masked_key}{origin}"


def run_command(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """Run the command `args` names; its exit code. Nothing escapes as a traceback
    but a bug."""
    ctx = Context(args, parser=parser)
    try:
        handler: Handler = load_handler(args.handler)  # an import: Ctrl-C may come here too
        return asyncio.run(_run(handler, ctx))
    except BrokenPipeError:
        _quiet_stdout()
        return ExitCode.OK
    except KeyboardInterrupt:
        if getattr(args, "quiet_interrupt", False):
            return ExitCode.OK
        with contextlib.suppress(OSError):
            ctx.err.write("\n")
        return ExitCode.INTERRUPTED


async def _run(handler: Handler, ctx: Context) -> int:
    try:
        code = await handler(ctx, ctx.args)
        ctx.out.flush()
        return code
    except BrokenPipeError:
        raise
    except Exception as exc:
        code, message = describe_error(exc, ctx)
        if message:
            ctx.note(message)
        return code
    finally:
        await ctx.close()


def describe_error(exc: Exception, ctx: Context) -> tuple[int, str]:
    """The exit code and the one message for an error; re-raises a bug."""
    from s2b_tui.api.errors import (
        AuthenticationError,
        InvalidApiKeyError,
        NotFoundError,
        NotOfferedError,
        Sync2BooksError,
    )
    from s2b_tui.config import SettingsError
    from s2b_tui.sandbox.common import SandboxStartError

    if isinstance(exc, CommandFailed):
        return exc.code, str(exc)
    if isinstance(exc, UsageError):
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, SettingsError):
        return getattr(exc, "exit_code", ExitCode.USAGE), str(exc)
    if isinstance(exc, InvalidApiKeyError):
        return ExitCode.NOT_SIGNED_IN, str(exc)
    if isinstance(exc, AuthenticationError):
        where = ctx._client.host if ctx._client is not None else "the API"
        message = f"{where} refused {ctx.describe_key()}: {exc.message.rstrip('.')}."
        settings = ctx._settings
        if settings is not None and settings.profile and settings.key_source != "S2B_API_KEY":
            message += f" `s2b-tui login --profile {settings.profile}` stores a new key."
        elif settings is not None and settings.key_source == "S2B_API_KEY":
            message += " Check S2B_API_KEY (and the base URL it belongs to)."
        return ExitCode.NOT_SIGNED_IN, message
    if isinstance(exc, NotOfferedError):
        return ExitCode.API_ERROR, not_offered_message(exc.feature)
    if isinstance(exc, NotFoundError):
        return ExitCode.NOT_FOUND, str(exc)
    if isinstance(exc, Sync2BooksError | SandboxStartError):
        return ExitCode.API_ERROR, str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        where = f" ({exc.filename})" if exc.filename else ""
        return ExitCode.API_ERROR, f"{exc.strerror or exc}{where}"
    raise exc


#: What a command misses on a server without a feature of the portfolio revision.
NOT_OFFERED_PHRASES = {
    "states": "state filters",
    "authorizations": "listing or cancelling links, or link lifetimes",
    "events": "the events feed",
    "company_edit": "editing companies or contact emails",
    "sandbox_controls": "the sandbox's controls",
}


def not_offered_message(feature: str) -> str:
    """`this API does not offer state filters (portfolio revision)`."""
    what = NOT_OFFERED_PHRASES.get(feature, feature)
    return f"this API does not offer {what} (portfolio revision)"


def _quiet_stdout() -> None:
    """The reader of stdout is gone: point stdout at /dev/null, so that the
    interpreter's last flush does not complain either."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def load_handler(name: str) -> Any:
    """A command's function from its "module:function" name (see parser.py)."""
    module_name, _, function_name = name.partition(":")
    return getattr(importlib.import_module(f"s2b_tui.headless.{module_name}"), function_name)
