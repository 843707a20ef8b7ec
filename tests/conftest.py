"""Shared fixtures: a real sandbox on a loopback port, in a temporary data dir."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.ports import reserved_port
from tests.sandbox.helpers import api_http


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[EmbeddedSandbox]:
    """A started sandbox on a free 127.0.0.1 port; stopped after the test."""
    with EmbeddedSandbox(tmp_path / "sandbox") as running:
        yield running


@pytest.fixture
def loopback_port() -> Iterator[int]:
    """A 127.0.0.1 port kept for this test until it ends (see tests/ports.py):
    for a server the test starts, stops and starts again on a known port."""
    with reserved_port() as port:
        yield port


@pytest.fixture
async def sandbox_http(sandbox: EmbeddedSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """Plain httpx against the sandbox's /v1, with its key."""
    async with api_http(sandbox) as client:
        yield client
