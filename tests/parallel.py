"""Running the suite in several processes (pytest-xdist): what they share.

The controller makes one directory per run and hands its path to every
worker (`RUN_DIR_KEY` in the worker's input); the workers keep their
`RunLock` in it. A test marked `exclusive` holds the lock alone: it starts
once the tests running in other workers have ended, and none starts until it
has. Every other test holds the lock shared with the other workers' tests.

Two locks make one readers-writer lock that cannot starve its writer: a
test takes the gate, then the lock (shared or alone), and lets the gate go
at once if it is shared; an exclusive test keeps the gate until it ends, so
no new test slips in while it waits for the running ones to finish.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The key of the run's shared directory in each worker's input.
RUN_DIR_KEY = "s2b_run_dir"


class RunLock:
    """The lock the tests of one run share across processes (see above)."""

    def __init__(self, directory: Path) -> None:
        self._gate = os.open(directory / "gate.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._tests = os.open(directory / "tests.lock", os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def held(self, *, exclusive: bool) -> Iterator[None]:
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._tests, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        except BaseException:
            fcntl.flock(self._gate, fcntl.LOCK_UN)
            raise
        if not exclusive:
            fcntl.flock(self._gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(self._tests, fcntl.LOCK_UN)
            if exclusive:
                fcntl.flock(self._gate, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._gate)
        os.close(self._tests)
