"""`s2b-tui` as a user runs it: real processes, a new shell's environment,
exit codes, stdout and stderr apart, pipes, terminals and shells."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.headless.conftest import REPO, base_env


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_new_user_flow_with_no_keyring(run_s2b, api, tmp_path: Path):
    """printf KEY | login --with-key --profile qa --base-url …; then, in a new
    shell with no S2B_* variables, --profile qa works and status says where
    the key lives: a 0600 file in a 0700 dir, on a machine with no keyring."""
    signed = run_s2b(
        "login", "--with-key", "--profile", "qa", "--base-url", api.base_url, input=api.api_key
    )
    assert signed.returncode == 0, signed.stderr
    assert signed.stdout == b""
    err = signed.stderr.decode()
    assert "no system keyring here" in err and "a TEST key" in err
    assert api.api_key not in err

    key_file = tmp_path / "home" / ".config" / "s2b-tui" / "keys" / "qa.key"
    assert mode(key_file) == 0o600 and mode(key_file.parent) == 0o700
    assert mode(key_file.parent.parent / "config.toml") == 0o600

    name = f"Flow {uuid.uuid4().hex[:8]}"
    httpx.post(
        f"{api.base_url}/companies",
        json={"name": name},
        headers={"Authorization": f"Bearer {api.api_key}"},
    ).raise_for_status()
    listed = run_s2b("--profile", "qa", "companies", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert name in [c["name"] for c in json.loads(listed.stdout)]
    assert listed.stderr == b""

    status = run_s2b("status")
    text = status.stdout.decode()
    assert "qa" in text and "the default profile" in text
    assert f"{key_file} (mode 600, its dir mode 700)" in text


def test_a_keyring_key_outlives_the_process(run_s2b, api, tmp_path: Path):
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.headless.keyrings.FileKeyring",
        "S2B_TEST_KEYRING": str(tmp_path / "keyring.json"),
    }
    signed = run_s2b(
        "login", "--with-key", "--base-url", api.base_url, input=api.api_key + "\n", env=env
    )
    assert signed.returncode == 0, signed.stderr
    assert b"test file keyring" in signed.stderr
    assert not (tmp_path / "home" / ".config" / "s2b-tui" / "keys").exists()
    status = run_s2b("status", "--json", env=env)
    assert json.loads(status.stdout)["keyFrom"].startswith("the system keyring")
    assert run_s2b("companies", "list", env=env).returncode == 0
    out = run_s2b("logout", env=env)
    assert out.returncode == 0
    assert json.loads((tmp_path / "keyring.json").read_text()) == {}


def test_exit_codes_and_where_messages_go(run_s2b, api):
    env = {"S2B_API_KEY": api.api_key, "S2B_BASE_URL": api.base_url}
    ok = run_s2b("companies", "list", "--json", env=env)
    assert ok.returncode == 0 and ok.stderr == b""

    usage = run_s2b("companies", "list", "--page-size", "0", env=env)
    assert usage.returncode == 2 and usage.stdout == b"" and b"at least 1" in usage.stderr

    missing = run_s2b("companies", "show", str(uuid.uuid4()), env=env)
    assert missing.returncode == 3 and missing.stdout == b""
    assert missing.stderr.decode().startswith("s2b-tui: Company not found")

    refused = run_s2b("companies", "list", env={**env, "S2B_API_KEY": "sk_test_" + "x" * 30})
    assert refused.returncode == 4 and refused.stdout == b""
    assert b"refused the TEST key sk_test_\xe2\x80\xa6xxxx from S2B_API_KEY" in refused.stderr

    assert run_s2b("--profile", "nobody", "companies", "list").returncode == 4

    with socket_closed() as port:
        down = run_s2b(
            "companies", "list", env={**env, "S2B_BASE_URL": f"http://127.0.0.1:{port}/v1"}
        )
    assert down.returncode == 1 and down.stdout == b"" and b"Could not reach" in down.stderr
    for result in (usage, missing, refused, down):
        assert b"Traceback" not in result.stderr


class socket_closed:
    """A loopback port where nothing listens."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def __exit__(self, *exc_info) -> None:
        pass


def test_a_reader_that_goes_away_ends_the_command_quietly(api, tmp_path: Path):
    headers = {"Authorization": f"Bearer {api.api_key}"}
    httpx.post(f"{api.base_url}/sandbox/seed", json={"companies": 1200}, headers=headers)
    env = {**base_env(tmp_path), "S2B_API_KEY": api.api_key, "S2B_BASE_URL": api.base_url}
    for command in ("companies list --all", "export", "companies list --all --json"):
        pipeline = subprocess.run(
            [
                "bash",
                "-c",
                f"set -o pipefail; {sys.executable} -m s2b_tui {command} | head -n 2; "
                'echo "exit=${PIPESTATUS[0]}" >&2',
            ],
            capture_output=True,
            env=env,
            cwd=REPO,
            timeout=60,
        )
        assert len(pipeline.stdout.splitlines()) == 2
        assert pipeline.stderr.decode().strip() == "exit=0", pipeline.stderr


def run_in_terminal(argv: list[str], env: dict[str, str], *, stream: str = "stdout") -> str:
    """What `s2b-tui …` writes to a terminal (a pseudo-terminal) as its
    stdout, or as its stderr with `stream="stderr"` (stdout then discarded)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "s2b_tui", *argv],
        stdin=subprocess.DEVNULL,
        stdout=follower if stream == "stdout" else subprocess.DEVNULL,
        stderr=follower if stream == "stderr" else subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(leader)
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_unless_no_color(api, tmp_path: Path):
    company = httpx.post(
        f"{api.base_url}/companies",
        json={"name": f"Colour {uuid.uuid4().hex[:8]}"},
        headers={"Authorization": f"Bearer {api.api_key}"},
    ).json()
    env = {**base_env(tmp_path), "S2B_API_KEY": api.api_key, "S2B_BASE_URL": api.base_url}
    env["TERM"] = "xterm-256color"
    shown = run_in_terminal(["companies", "show", company["id"]], env)
    assert "\x1b[" in shown and company["id"] in shown
    plain = run_in_terminal(["companies", "show", company["id"]], {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in plain and company["id"] in plain


@pytest.mark.parametrize(
    ("decision", "code", "final"), [("allow", 0, "COMPLETED"), ("deny", 1, "DECLINED")]
)
def test_connect_wait_follows_the_hand_off(api, tmp_path: Path, decision, code, final):
    company = httpx.post(
        f"{api.base_url}/companies",
        json={"name": f"Waiting {uuid.uuid4().hex[:8]}"},
        headers={"Authorization": f"Bearer {api.api_key}"},
    ).json()
    env = {**base_env(tmp_path), "S2B_API_KEY": api.api_key, "S2B_BASE_URL": api.base_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "s2b_tui", "connect", company["id"], "SAGE", "--wait", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        pending = json.loads(process.stdout.readline())  # printed before waiting
        assert pending["status"] == "PENDING"
        clicked = httpx.post(pending["authUrl"], data={"decision": decision}, timeout=10)
        assert clicked.status_code == 200
        assert process.wait(timeout=30) == code
        assert json.loads(process.stdout.readline())["status"] == final
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_connect_wait_gives_up_after_its_timeout(run_s2b, api):
    company = httpx.post(
        f"{api.base_url}/companies",
        json={"name": f"Patient {uuid.uuid4().hex[:8]}"},
        headers={"Authorization": f"Bearer {api.api_key}"},
    ).json()
    env = {"S2B_API_KEY": api.api_key, "S2B_BASE_URL": api.base_url}
    result = run_s2b("connect", company["id"], "XERO", "--wait", "--timeout", "1.5", env=env)
    assert result.returncode == 1 and b"still waiting" in result.stderr
    assert result.stdout.decode().startswith(api.origin + "/link/")


def test_with_no_key_and_no_profile_the_embedded_sandbox_is_used(run_s2b, tmp_path: Path):
    made = run_s2b("companies", "create", "Embedded Co")
    assert made.returncode == 0, made.stderr
    assert b"using the embedded sandbox" in made.stderr
    assert str(tmp_path / "data" / "sandbox").encode() in made.stderr
    company_id = made.stdout.decode().splitlines()[0]
    # A new process, a new sandbox process: the same data.
    listed = run_s2b("companies", "list", "--json")
    assert [c["id"] for c in json.loads(listed.stdout)] == [company_id]


def completion(shell: str, script: str, words: list[str]) -> list[str]:
    """What `shell` completes after `words` (the last one being typed)."""
    if shell == "bash":
        code = (
            f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); "
            f"COMP_CWORD={len(words) - 1}; _s2b_tui; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )
        argv = ["bash", "-c", code]
    else:
        # zsh's completion builtins work only inside a completion widget: these
        # stand-ins print what would be offered.
        stubs = (
            "compdef() { :; }\n"
            "compadd() { [[ $1 == -- ]] && shift; printf '%s\\n' \"$@\"; }\n"
            "_files() { print __files__; }\n"
            '_describe() { local -a list; list=("${(@P)${@[-1]}}"); '
            "printf '%s\\n' \"${list[@]%%:*}\"; }\n"
        )
        quoted = " ".join("'" + w + "'" for w in words)
        code = f"{stubs}{script}\nwords=({quoted}); CURRENT={len(words)}; _s2b_tui"
        argv = ["zsh", "-f", "-c", code]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    current = words[-1]
    return sorted(w for w in result.stdout.split() if w.startswith(current) or w == "__files__")


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_come_from_the_parser(run_s2b, shell):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script = run_s2b("completion", shell).stdout.decode()
    assert completion(shell, script, ["s2b-tui", "comp"]) == ["companies", "completion"]
    assert completion(shell, script, ["s2b-tui", "companies", ""]) == [
        "create",
        "delete",
        "edit",
        "list",
        "show",
    ]
    assert "--csv" in completion(shell, script, ["s2b-tui", "companies", "list", "--"])
    assert completion(shell, script, ["s2b-tui", "--profile", "x", "connect", "ID", "QU"]) == [
        "QUICKBOOKS",
        "QUICKBOOKS_DESKTOP",
    ]
    assert completion(shell, script, ["s2b-tui", "companies", "list", "--order-by", "-"]) == [
        "-createdAt",
        "-name",
        "-stateChangedAt",
    ]
    assert completion(shell, script, ["s2b-tui", "export", "--state", "DIS"]) == ["DISCONNECTED"]
    assert completion(shell, script, ["s2b-tui", "events", "--type", "connection.re"]) == [
        "connection.reconnected",
        "connection.recovered",
    ]
    assert completion(shell, script, ["s2b-tui", "links", ""]) == ["cancel", "list"]
    if shell == "zsh":
        assert completion(shell, script, ["s2b-tui", "import", ""]) == ["__files__"]


def test_import_progress_is_drawn_only_on_a_terminal(api, tmp_path: Path):
    source = tmp_path / "c.csv"
    source.write_text(
        "name\n" + "".join(f"Progress {uuid.uuid4().hex[:6]} {i}\n" for i in range(300))
    )
    env = {**base_env(tmp_path), "S2B_API_KEY": api.api_key, "S2B_BASE_URL": api.base_url}
    shown = run_in_terminal(["import", str(source)], env, stream="stderr")
    assert "/300 rows" in shown  # the bar, redrawn as rows finish
    assert "300 rows in" in shown
    piped = subprocess.run(
        [sys.executable, "-m", "s2b_tui", "import", str(source)],
        capture_output=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert b"/300 rows" not in piped.stderr and b"\r" not in piped.stderr
    assert b"300 already imported" in piped.stderr
