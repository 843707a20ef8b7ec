"""The Sync2Books sandbox: a real local HTTP implementation of API.md.

`SandboxProcess` runs it in a child process (the console's embedded sandbox),
`EmbeddedSandbox` in a background thread (tests, and that child), and
`s2b-tui sandbox serve` in the foreground. Never imports Textual.

The names below load on first use, so a console talking to a remote API never
pays for importing Starlette and uvicorn.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s2b_tui.sandbox.common import SandboxStartError
    from s2b_tui.sandbox.process import SandboxProcess
    from s2b_tui.sandbox.runner import EmbeddedSandbox
    from s2b_tui.sandbox.server import create_app
    from s2b_tui.sandbox.store import SandboxStore

_EXPORTS = {
    "EmbeddedSandbox": "s2b_tui.sandbox.runner",
    "SandboxProcess": "s2b_tui.sandbox.process",
    "SandboxStartError": "s2b_tui.sandbox.common",
    "create_app": "s2b_tui.sandbox.server",
    "SandboxStore": "s2b_tui.sandbox.store",
}

__all__ = ["EmbeddedSandbox", "SandboxProcess", "SandboxStartError", "SandboxStore", "create_app"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
