"""The core (client and sandbox) stays usable without the TUI."""

from __future__ import annotations

import subprocess
import sys


def _fresh_interpreter_runs(code: str) -> None:
    """`code` exits 0 in a new interpreter (so nothing is imported already)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_core_never_imports_textual():
    code = (
        "import sys, s2b_tui.api, s2b_tui.sandbox, s2b_tui.session, s2b_tui.config\n"
        "import s2b_tui.sandbox.server, s2b_tui.sandbox.runner, s2b_tui.sandbox.store\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "assert not bad, bad\n"
    )
    _fresh_interpreter_runs(code)


def test_textual_import_check_would_catch_a_leak():
    """The check above can fail: importing the app does pull Textual in."""
    code = "import sys, s2b_tui.app\nassert 'textual' in sys.modules\n"
    _fresh_interpreter_runs(code)


def test_the_embedded_sandbox_starts_before_anything_heavy_loads():
    """`s2b-tui` starts its sandbox's process first, so that it gets ready on
    another core while the console loads: nothing before that may import the
    console's or the server's libraries."""
    code = (
        "import sys, s2b_tui.cli, s2b_tui.sandbox.process\n"
        "from s2b_tui.config import Settings\n"
        "assert Settings.resolve(environ={}).embedded_sandbox\n"
        "heavy = ('textual', 'httpx', 'pydantic', 'uvicorn', 'starlette')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "assert not bad, bad\n"
    )
    _fresh_interpreter_runs(code)


def test_the_embedded_sandbox_is_reached_without_httpx_default_transport(tmp_path):
    """The console talks to its own sandbox process over the loopback transport:
    httpx's default stack (httpcore, anyio) is never loaded for it, while a
    client of any other API does load it. Both halves run here."""
    code = (
        "import asyncio, sys\n"
        "from s2b_tui.sandbox.process import SandboxProcess\n"
        "from s2b_tui.api import Sync2BooksClient\n"
        "from s2b_tui.session import sandbox_client\n"
        f"process = SandboxProcess({str(tmp_path)!r}).start()\n"
        "base_url, key = process.wait_ready()\n"
        "async def use(make):\n"
        "    async with make(key, base_url) as client:\n"
        "        await client.list_companies()\n"
        "try:\n"
        "    asyncio.run(use(sandbox_client))\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('httpcore', 'anyio'))\n"
        "    assert not loaded, loaded\n"
        "    asyncio.run(use(Sync2BooksClient))\n"
        "    assert 'httpcore' in sys.modules and 'anyio' in sys.modules\n"
        "finally:\n"
        "    process.stop()\n"
    )
    _fresh_interpreter_runs(code)
