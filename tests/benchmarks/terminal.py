"""A program in a real pseudo-terminal: what it paints, with timestamps.

The program gets a pty of a fixed size as its stdin, stdout and stderr, as in
a terminal emulator; a reader thread collects its output so the program never
blocks on a full pty. `wait_for` finds text in what was painted (escape
sequences removed) and says when it arrived.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import fcntl
import os
import re
import resource
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

# CSI (cursor moves, colours), OSC (titles, hyperlinks), and two-byte escapes.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMc]"
)
CTRL_Q = "\x11"
ENTER = "\r"
ESCAPE = "\x1b"


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _split_plain(text: str) -> tuple[str, str]:
    """`text` without escape sequences, and the tail that may be the start
    of one still arriving."""
    plain = []
    end = 0
    for match in _ESCAPES.finditer(text):
        plain.append(text[end : match.start()])
        end = match.end()
    rest = text[end:]
    unfinished = rest.find("\x1b")
    if unfinished < 0 or len(rest) - unfinished > 4096:  # not an escape after all
        return "".join(plain) + rest, ""
    return "".join(plain) + rest[:unfinished], rest[unfinished:]


class TerminalTimeout(AssertionError):
    pass


@dataclass(frozen=True)
class Exit:
    code: int
    #: The peak resident set size of the program, from the kernel.
    peak_rss_bytes: int


@dataclass(frozen=True)
class PeakRss:
    #: One per process: the program first, then its descendants.
    processes: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.processes)


class Terminal:
    """`argv` running in a `cols` x `rows` pseudo-terminal."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cols: int = 120,
        rows: int = 36,
        env: dict[str, str] | None = None,
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            # A session of its own with the pty as its controlling terminal, as
            # in a terminal emulator: if this harness dies, closing the pty
            # hangs the program up instead of leaving it running.
            start_new_session=True,
            preexec_fn=_take_terminal,
            close_fds=True,
        )
        os.close(slave)
        self._master = master
        #: (arrival time, length of `_text` then), one per read.
        self._chunks: list[tuple[float, int]] = []
        self._text = ""  # everything painted, escape sequences removed
        self._reader_done = False
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()
        self._exit: Exit | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        # Incremental: a character split between two reads is decoded whole.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""  # text that may end inside an escape sequence
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: the program closed the terminal
                data = b""
            arrived = time.perf_counter()
            if not data:
                with self._lock:
                    self._reader_done = True
                    self._lock.notify_all()
                return
            plain, pending = _split_plain(pending + decoder.decode(data))
            with self._lock:
                self._text += plain
                self._chunks.append((arrived, len(self._text)))
                self._lock.notify_all()

    # -- reading ------------------------------------------------------------

    def mark(self) -> int:
        """A position in the output: `wait_for(..., after=mark)` looks only past it."""
        with self._lock:
            return len(self._text)

    def painted_since(self, mark: int) -> str:
        with self._lock:
            return self._text[mark:]

    def wait_for(self, text: str, *, after: int = 0, timeout: float = 30.0) -> float:
        """The time (perf_counter) the output past `after` first contained `text`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = self._text.find(text, after)
                if found >= 0:
                    return self._arrival(found + len(text))
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._reader_done:
                    tail = self._text[-400:]
                    raise TerminalTimeout(f"{text!r} was not painted; the screen ended {tail!r}")
                self._lock.wait(min(remaining, 0.05))

    def _arrival(self, end: int) -> float:
        """When the output reached position `end`."""
        index = bisect.bisect_left(self._chunks, end, key=lambda chunk: chunk[1])
        return self._chunks[index][0]

    # -- writing -------------------------------------------------------------

    def send(self, keys: str) -> float:
        """Type `keys` (one write, as a fast typist or a paste); returns when."""
        os.write(self._master, keys.encode())
        return time.perf_counter()

    # -- the process ---------------------------------------------------------

    def process_tree(self) -> list[int]:
        """The program's pid, then those of its living descendants (the
        console's embedded sandbox runs in a child process)."""
        pids = [self.pid]
        for pid in pids:  # grows while it is walked
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                        pids.extend(int(child) for child in children.read().split())
        return pids

    def cpu_seconds(self) -> float:
        """User plus system CPU time the program and its descendants have used so far."""
        ticks = 0
        for pid in self.process_tree():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def peak_rss_bytes(self) -> PeakRss:
        """The peak resident set sizes of the program and its living
        descendants; their sum bounds their peak together from above."""
        peaks = []
        for pid in self.process_tree():
            path = f"/proc/{pid}/status"
            with contextlib.suppress(OSError), open(path, encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) * 1024)
        return PeakRss(tuple(peaks))

    def quit(self, keys: str = CTRL_Q, timeout: float = 10.0) -> Exit:
        """Ask the program to quit with `keys`; end it if it does not."""
        if self._exit is None:
            # Not Popen.poll(): it would reap the program, and its peak RSS with it.
            with contextlib.suppress(OSError):  # it may have closed the terminal already
                self.send(keys)
            self._exit = self._wait(timeout)
            os.close(self._master)
            self._reader.join(timeout=2)
        return self._exit

    def _wait(self, timeout: float) -> Exit:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                return self._reaped(status, usage)
            time.sleep(0.02)
        os.killpg(self.pid, signal.SIGKILL)
        _, status, usage = os.wait4(self.pid, 0)
        return self._reaped(status, usage)

    def _reaped(self, status: int, usage: resource.struct_rusage) -> Exit:
        code = os.waitstatus_to_exitcode(status)
        self.process.returncode = code  # reaped here, so Popen must not wait again
        return Exit(code=code, peak_rss_bytes=usage.ru_maxrss * 1024)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_: object) -> None:
        self.quit()
