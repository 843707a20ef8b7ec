"""Loopback ports for tests that need to know a server's port before it runs.

Picking a free port, closing it and starting a server on it later races with
everything else on the machine that asks for a port meanwhile, tests running
in parallel first of all (each starts its sandboxes on port 0). A reserved port
stays bound, but not listening, until the test ends: connecting to it is
refused, as to any free port; the kernel gives it to no other `bind` to port 0
and to no outgoing connection; and a server that binds with SO_REUSEADDR, as
the sandbox does, can listen on it, stop, and listen on it again.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def reserved_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port of `host` (loopback) held for the duration of the block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind((host, 0))
        yield holder.getsockname()[1]
