"""The console's embedded sandbox, in a child process.

The console starts it before loading anything else, so the child loads the
server and opens its database on another core while the console loads its
own modules; afterwards the sandbox's requests never compete with the
console's drawing for one interpreter lock.

The child reports with one JSON line on its stdout (where it serves, or why
it cannot), then serves until its stdin closes: it ends with the console
however the console ends (quit, crash, kill). What it logs goes to
`<data_dir>/sandbox.log`, never to the console's terminal.

Only light modules are imported here: this runs before the console loads.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from s2b_tui.sandbox.common import SandboxStartError

#: A first start creates the database; a cold disk can be slow.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
LOG_FILE = "sandbox.log"
#: The log starts afresh when it has grown past this.
LOG_LIMIT_BYTES = 1_000_000


class SandboxProcess:
    """The sandbox API served by a child process on a free loopback port.

    `start()` returns at once; `wait_ready()` blocks until the child serves
    and returns `(base_url, api_key)`, or raises `SandboxStartError`.
    `stop()` is idempotent.
    """

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir)
        self._process: subprocess.Popen[bytes] | None = None
        self._failure: str | None = None
        self._ready: tuple[str, str] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    def start(self) -> SandboxProcess:
        """Start the child. Never raises: a failure is reported by `wait_ready()`."""
        if self._process is not None:
            return self
        self._failure = None
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fresh = not self.log_path.exists() or self.log_path.stat().st_size > LOG_LIMIT_BYTES
            with open(self.log_path, "wb" if fresh else "ab") as log:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "s2b_tui.sandbox.process", str(self.data_dir)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                )
        except OSError as exc:
            self._failure = f"Cannot use the sandbox data in {self.data_dir}: {exc}"
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> tuple[str, str]:
        """Block until the child serves; `(base_url, api_key)`."""
        if self._ready is not None:
            return self._ready
        if self._process is None and self._failure is None:
            self.start()
        if self._failure is not None:
            raise SandboxStartError(self._failure)
        process = self._process
        assert process is not None and process.stdout is not None
        timed_out = threading.Event()

        def give_up() -> None:
            timed_out.set()
            process.kill()  # ends the readline below

        timer = threading.Timer(timeout, give_up)
        timer.start()
        try:
            line = process.stdout.readline()
        finally:
            timer.cancel()
        try:
            report = json.loads(line) if line else {}
        except ValueError:
            report = {}
        if "baseUrl" in report and "apiKey" in report:
            self._ready = (str(report["baseUrl"]), str(report["apiKey"]))
            return self._ready
        self.stop()
        if "error" in report:
            raise SandboxStartError(str(report["error"]))
        if timed_out.is_set():
            raise SandboxStartError(
                f"The sandbox did not start within {timeout:g} s (its log: {self.log_path})"
            )
        raise SandboxStartError(
            f"The sandbox stopped while starting, exit code {process.returncode} "
            f"(its log: {self.log_path})"
        )

    def stop(self) -> None:
        """Ask the child to stop (close its stdin), and wait for it."""
        process, self._process = self._process, None
        self._ready = None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):  # it is gone already
                process.stdin.close()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# ------------------------------------------------------------------ the child


def _report(message: dict[str, str]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve_for_parent(data_dir: str) -> int:
    """The child: serve the sandbox in `data_dir` until stdin closes."""
    import logging
    import signal

    from s2b_tui.startup import pause_gc, resume_gc

    # Ctrl-C belongs to the console; the child ends when its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pause_gc()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    from s2b_tui.sandbox.runner import EmbeddedSandbox

    sandbox = EmbeddedSandbox(data_dir)
    try:
        sandbox.start()
    except SandboxStartError as exc:
        _report({"error": str(exc)})
        return 1
    resume_gc()
    try:
        _report({"baseUrl": sandbox.base_url, "apiKey": sandbox.api_key})
        while sys.stdin.buffer.read(4096):
            pass  # nothing is sent: only the end of the pipe matters
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m s2b_tui.sandbox.process DATA_DIR (started by the console)")
    sys.exit(serve_for_parent(sys.argv[1]))
