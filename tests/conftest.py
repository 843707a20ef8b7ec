"""Shared fixtures (a real sandbox on a loopback port, in a temporary data
dir) and the hooks of the run: tests in parallel processes (tests/parallel.py)
and the fuzzing summary at its end (tests/fuzz/counts.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.environment import make_hermetic
from tests.fuzz import counts
from tests.parallel import RUN_DIR_KEY, RunLock
from tests.ports import reserved_port
from tests.sandbox.helpers import api_http

FUZZ_COUNTS_KEY = "s2b_fuzz_counts"
_run_dir = pytest.StashKey[Path]()
_run_lock = pytest.StashKey[RunLock]()

# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session", autouse=True)
def hermetic_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No S2B_* settings, profiles or proxies from the developer's
    environment, and a home folder (so a user config dir with no profiles) of
    this test process's own (see tests/environment.py)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        make_hermetic(monkeypatch, tmp_path_factory.mktemp("home"))
        yield


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


# ------------------------------------------------------- hooks: the workers


def _worker_input(config: pytest.Config) -> dict[str, object] | None:
    """What the controller gave this worker; None outside a parallel run."""
    return getattr(config, "workerinput", None)


def pytest_configure(config: pytest.Config) -> None:
    worker_input = _worker_input(config)
    if worker_input is not None:
        config.stash[_run_lock] = RunLock(Path(str(worker_input[RUN_DIR_KEY])))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Exclusive tests last: in a parallel run, the other workers are mostly
    done by then, so they wait the least for the tests that run alone."""
    items.sort(key=lambda item: item.get_closest_marker("exclusive") is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """In a parallel run, each test (set-up and tear-down included) holds the
    run's lock: alone if it is marked `exclusive`, else shared."""
    lock = item.config.stash.get(_run_lock, None)
    if lock is None:
        return (yield)
    with lock.held(exclusive=item.get_closest_marker("exclusive") is not None):
        return (yield)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker reports its fuzzing counts to the controller."""
    if _worker_input(session.config) is not None:
        output: dict[str, object] = session.config.workeroutput  # type: ignore[attr-defined]
        output[FUZZ_COUNTS_KEY] = counts.snapshot()


# ---------------------------------------------------- hooks: the controller
# `node` is xdist's WorkerController (xdist has no type information).


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Give each worker the run's shared directory (made on first use)."""
    config: pytest.Config = node.config
    if _run_dir not in config.stash:
        config.stash[_run_dir] = Path(tempfile.mkdtemp(prefix="s2b-tests-"))
    node.workerinput[RUN_DIR_KEY] = str(config.stash[_run_dir])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any) -> None:
    """A worker finished: add its fuzzing counts to the run's."""
    output = getattr(node, "workeroutput", {})  # none if the worker crashed
    if FUZZ_COUNTS_KEY in output:
        counts.add(output[FUZZ_COUNTS_KEY])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = counts.summary()
    if lines:
        terminalreporter.write_sep("-", "fuzzing and bad input")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _run_lock in config.stash:
        config.stash[_run_lock].close()
    if _run_dir in config.stash:
        shutil.rmtree(config.stash[_run_dir], ignore_errors=True)
