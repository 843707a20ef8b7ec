"""The Sync2Books sandbox: a real local HTTP implementation of API.md.

`EmbeddedSandbox` runs it in a background thread (the console, tests);
`s2b-tui sandbox serve` runs it in the foreground. Never imports Textual.

The names below load on first use, so a console talking to a remote API never
pays for importing FastAPI and uvicorn.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s2b_tui.sandbox.runner import EmbeddedSandbox, SandboxStartError
    from s2b_tui.sandbox.server import create_app
    from s2b_tui.sandbox.store import SandboxStore

_EXPORTS = {
    "EmbeddedSandbox": "s2b_tui.sandbox.runner",
    "SandboxStartError": "s2b_tui.sandbox.runner",
    "create_app": "s2b_tui.sandbox.server",
    "SandboxStore": "s2b_tui.sandbox.store",
}

__all__ = ["EmbeddedSandbox", "SandboxStartError", "SandboxStore", "create_app"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
