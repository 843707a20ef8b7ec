"""Shared fixtures: a real sandbox on a loopback port, in a temporary data dir."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.sandbox.helpers import api_http


@pytest.fixture(autouse=True, scope="session")
def no_user_profiles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads the profiles of the person running the tests (`s2b-tui
    login`): the user config dir is an empty temporary one."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    for name in ("S2B_CONFIG_DIR", "S2B_PROFILE"):
        patch.delenv(name, raising=False)
    yield
    patch.undo()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[EmbeddedSandbox]:
    """A started sandbox on a free 127.0.0.1 port; stopped after the test."""
    with EmbeddedSandbox(tmp_path / "sandbox") as running:
        yield running


@pytest.fixture
async def sandbox_http(sandbox: EmbeddedSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """Plain httpx against the sandbox's /v1, with its key."""
    async with api_http(sandbox) as client:
        yield client
