"""The console's embedded sandbox in a child process: it serves, it reports
why it cannot, it logs to its file (never to the terminal), and it ends with
the console however the console ends."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from s2b_tui.sandbox import SandboxProcess, SandboxStartError, SandboxStore


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_serves_the_api_and_stops(tmp_path: Path, capfd):
    process = SandboxProcess(tmp_path).start()
    try:
        base_url, api_key = process.wait_ready()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        assert api_key == (tmp_path / "api-key").read_text().strip()
        assert process.wait_ready() == (base_url, api_key)  # asked again: the same
        headers = {"Authorization": f"Bearer {api_key}"}
        reply = httpx.post(f"{base_url}/companies", json={"name": "Child Co"}, headers=headers)
        assert reply.status_code == 201
        assert httpx.get(f"{base_url}/sandbox", headers=headers).json()["sandbox"] is True
        assert process._process is not None
        pid = process._process.pid
    finally:
        process.stop()
    assert _wait_gone(pid)
    process.stop()  # idempotent
    # Its data stayed; nothing reached this process's terminal.
    store = SandboxStore(tmp_path)
    try:
        assert store.list_companies(page=1, page_size=5)[0][0].name == "Child Co"
    finally:
        store.close()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_unusable_data_is_reported_with_the_reason(tmp_path: Path):
    SandboxStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "sandbox.db") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(SandboxStartError, match="schema version 99"):
        SandboxProcess(tmp_path).start().wait_ready()


def test_a_data_dir_that_cannot_exist_is_reported(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(SandboxStartError, match="Cannot use the sandbox data in"):
        SandboxProcess(blocker / "sandbox").start().wait_ready()


def test_a_child_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path):
    process = SandboxProcess(tmp_path).start()
    assert process._process is not None
    process._process.kill()
    with pytest.raises(SandboxStartError, match=r"stopped while starting.*sandbox\.log"):
        process.wait_ready()


def test_a_child_that_never_answers_is_given_up_on(tmp_path: Path, monkeypatch):
    # Stand in for a child stuck before it reports: a program that only waits.
    stuck = [sys.executable, "-c", "import time; time.sleep(60)"]
    real_popen = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", lambda argv, **kw: real_popen(stuck, **kw))
    process = SandboxProcess(tmp_path).start()
    started = time.monotonic()
    with pytest.raises(SandboxStartError, match=r"did not start within 0\.5 s"):
        process.wait_ready(timeout=0.5)
    assert time.monotonic() - started < 5


def test_its_warnings_go_to_its_log_file(tmp_path: Path):
    process = SandboxProcess(tmp_path).start()
    try:
        process.wait_ready()
    finally:
        process.stop()
    assert process.log_path == tmp_path / "sandbox.log"
    assert process.log_path.exists()
    # A huge old log starts afresh.
    process.log_path.write_bytes(b"x" * 2_000_000)
    process = SandboxProcess(tmp_path).start()
    try:
        process.wait_ready()
    finally:
        process.stop()
    assert process.log_path.stat().st_size < 1_000_000


@pytest.mark.parametrize("how", ["exits", "is killed"])
def test_the_child_ends_when_the_console_does(tmp_path: Path, how: str):
    """However the console ends, its sandbox does not outlive it."""
    console = textwrap.dedent(
        f"""
        import os, signal, sys, time
        from s2b_tui.sandbox import SandboxProcess
        process = SandboxProcess({str(tmp_path)!r}).start()
        process.wait_ready()
        print(process._process.pid, flush=True)
        if {how!r} == "is killed":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(0)  # no clean-up at all
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", console], capture_output=True, text=True, timeout=60
    )
    assert result.returncode in (0, -signal.SIGKILL), result.stderr
    child = int(result.stdout.strip())
    assert _wait_gone(child), "the sandbox outlived the console"
