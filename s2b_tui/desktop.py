"""The machine the console runs on: its clipboard and its browser.

Both can be missing (no display, no xclip, a server over SSH); every function
here answers with what happened instead of raising.
"""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from collections.abc import Mapping
from dataclasses import dataclass

CLIPBOARD_TIMEOUT_SECONDS = 1.5


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str = ""


def over_ssh(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"))


def copy_with_pyperclip(text: str, timeout: float = CLIPBOARD_TIMEOUT_SECONDS) -> Outcome:
    """Copy through the system clipboard, giving up after `timeout` seconds
    (xclip and friends can hang without a display)."""
    result: list[Outcome] = []

    def attempt() -> None:
        try:
            import pyperclip  # type: ignore[import-untyped]  # it ships no type hints

            pyperclip.copy(text)
        except Exception as exc:  # PyperclipException, OSError, a missing tool…
            result.append(Outcome(False, _clipboard_reason(exc)))
        else:
            result.append(Outcome(True))

    worker = threading.Thread(target=attempt, name="clipboard", daemon=True)
    worker.start()
    worker.join(timeout)
    if not result:
        return Outcome(False, "the system clipboard did not answer")
    return result[0]


def _clipboard_reason(exc: Exception) -> str:
    if type(exc).__name__ == "PyperclipException":
        return "no clipboard tool here (xclip, xsel or wl-copy) or no display"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def open_in_browser(url: str, environ: Mapping[str, str] = os.environ) -> Outcome:
    if over_ssh(environ):
        return Outcome(
            False,
            "Not opened: this console runs over SSH, so a browser would start on the "
            "remote machine. Copy the link (y) or scan the QR code instead.",
        )
    if sys.platform.startswith("linux") and not (
        environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")
    ):
        # Without a display, webbrowser would start a text browser over the console.
        return Outcome(
            False,
            "Not opened: there is no graphical display here. Copy the link (y) or scan "
            "the QR code instead.",
        )
    try:
        opened = webbrowser.open(url, new=2)
    except Exception as exc:  # webbrowser.Error and a broken browser command
        return Outcome(False, f"Could not start a browser: {exc}")
    if not opened:
        return Outcome(False, "No browser was found on this machine. Copy the link (y) instead.")
    return Outcome(True)
