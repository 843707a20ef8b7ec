"""Fixtures of the console tests (helpers are in helpers.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from s2b_tui.desktop import Outcome
from s2b_tui.sandbox import EmbeddedSandbox
from tests.console import helpers


@pytest.fixture
def no_system_clipboard() -> Callable[[str], Outcome]:
    return helpers.no_system_clipboard


@pytest.fixture
def open_console(
    sandbox: EmbeddedSandbox, no_system_clipboard: Callable[[str], Outcome]
) -> Callable[..., AbstractAsyncContextManager[helpers.Console]]:
    """`async with open_console() as console:` runs the app until the session is
    ready; keyword arguments as `helpers.run_console`'s."""
    return functools.partial(helpers.run_console, sandbox, no_system_clipboard)
