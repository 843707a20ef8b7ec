"""Fixtures of the headless command tests.

Every test runs with its own config, data and keyring: temporary dirs
(`S2B_CONFIG_DIR`, `XDG_*`, `S2B_DATA_DIR`) and an in-memory keyring, never
the machine's. Commands run in-process (`cli`) or as a real `s2b-tui`
subprocess (`run_s2b`), against a sandbox on a loopback port.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.headless.keyrings import MemoryKeyring

REPO = Path(__file__).resolve().parents[2]
ENV_NAMES = (
    "S2B_API_KEY",
    "S2B_BASE_URL",
    "S2B_PROFILE",
    "S2B_DATA_DIR",
    "S2B_CONFIG_DIR",
    "NO_COLOR",
    "PYTHON_KEYRING_BACKEND",
)


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Config, data and keyring of this test only."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("S2B_DATA_DIR", str(tmp_path / "data"))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield home / ".config" / "s2b-tui"
    keyring.set_keyring(previous)


@pytest.fixture
def config_dir(isolated: Path) -> Path:
    """Where `s2b-tui` keeps profiles in these tests (platformdirs under XDG_CONFIG_HOME)."""
    return isolated


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSandbox]:
    """A sandbox on a free 127.0.0.1 port, shared by a module's tests (each
    test makes companies of its own names)."""
    with EmbeddedSandbox(tmp_path_factory.mktemp("api")) as running:
        yield running


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """`cli("companies", "list", stdin="…")`: runs `s2b-tui …` in this process."""
    from s2b_tui.cli import build_parser
    from s2b_tui.headless import run

    def invoke(*argv: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        parser = build_parser()
        args = parser.parse_args(list(argv))
        code = run(args, parser)
        out, err = capsys.readouterr()
        return Result(int(code), out, err)

    return invoke


@pytest.fixture
def run_s2b(tmp_path: Path):
    """`run_s2b(*argv, input=…, env={…})`: a real `s2b-tui` process, with only
    the variables given (and this test's dirs), the file-fallback keyring
    unless `env` names another backend."""

    def invoke(
        *argv: str, input: str | bytes = "", env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        environment = base_env(tmp_path)
        environment.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "s2b_tui", *argv],
            input=input.encode() if isinstance(input, str) else input,
            capture_output=True,
            env=environment,
            cwd=REPO,
            timeout=timeout,
        )

    return invoke


def base_env(tmp_path: Path) -> dict[str, str]:
    """A new shell's environment: no S2B_* variables, this test's dirs, and
    no keyring (headless Linux: the key goes to a 0600 file)."""
    home = tmp_path / "home"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("S2B_", "XDG_", "PYTHON_KEYRING")) and key != "NO_COLOR"
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        S2B_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(REPO),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


def login(cli, api: EmbeddedSandbox, profile: str = "qa", *extra: str) -> Result:
    result = cli(
        "login",
        "--with-key",
        "--profile",
        profile,
        "--base-url",
        api.base_url,
        *extra,
        stdin=api.api_key,
    )
    assert result.code == 0, result.err
    return result
