"""Fixtures of the sandbox tests (helpers are in helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.sandbox.helpers import api_http


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSandbox]:
    """One sandbox for a module's tests whose requests are all refused: they
    leave no trace, so they need no fresh sandbox (each start/stop costs)."""
    with EmbeddedSandbox(tmp_path_factory.mktemp("shared")) as running:
        yield running


@pytest.fixture
async def refused_http(shared_sandbox: EmbeddedSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `shared_sandbox`; the test checks nothing was created."""
    async with api_http(shared_sandbox) as client:
        yield client
        assert (await client.get("/companies")).json()["totalResults"] == 0
