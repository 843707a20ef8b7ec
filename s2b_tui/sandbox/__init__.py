"""The Sync2Books sandbox: a real local HTTP implementation of API.md.

`EmbeddedSandbox` runs it in a background thread (the console, tests);
`s2b-tui sandbox serve` runs it in the foreground. Never imports Textual.
"""

from s2b_tui.sandbox.runner import EmbeddedSandbox, SandboxStartError
from s2b_tui.sandbox.server import create_app
from s2b_tui.sandbox.store import SandboxStore

__all__ = ["EmbeddedSandbox", "SandboxStartError", "SandboxStore", "create_app"]
