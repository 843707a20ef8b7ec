"""Lifecycle: restarts, several processes on one data dir, the serve command."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox, SandboxStartError, SandboxStore
from s2b_tui.sandbox.cli import add_parser
from s2b_tui.sandbox.runner import is_loopback
from tests.sandbox.helpers import api_http, click, connect, create_company

# ------------------------------------------------------------ lifecycle


async def test_nothing_is_lost_across_a_restart(tmp_path: Path):
    with EmbeddedSandbox(tmp_path) as first:
        key, first_port = first.api_key, first.origin
        async with api_http(first) as http:
            company = await create_company(http, "Persistent Ltd")
            connection = await connect(http, company["id"], "XERO")
            pending = await http.post(
                f"/companies/{company['id']}/connections", json={"integrationKey": "SAGE"}
            )
    assert not first.running

    with EmbeddedSandbox(tmp_path) as second:
        assert second.api_key == key
        async with api_http(second) as http:
            again = (await http.get(f"/companies/{company['id']}")).json()
            assert again["name"] == "Persistent Ltd"
            assert [(c["id"], c["status"]) for c in again["connections"]] == [
                (connection["id"], "CONNECTED")
            ]
            # Links keep working; they now point at the new port.
            auth_url = pending.json()["authUrl"].replace(first_port, second.origin)
            assert (await click(auth_url, decision="allow")).status_code == 200
            listed = (await http.get(f"/companies/{company['id']}/connections")).json()
            assert listed["totalResults"] == 2


async def test_two_sandboxes_on_one_data_dir_see_each_other(tmp_path: Path):
    with EmbeddedSandbox(tmp_path) as one, EmbeddedSandbox(tmp_path) as two:
        assert one.api_key == two.api_key
        assert one.origin != two.origin
        async with api_http(one) as a, api_http(two) as b:
            company = await create_company(a, "Shared Co")
            assert (await b.get(f"/companies/{company['id']}")).json()["name"] == "Shared Co"
            connection = await connect(b, company["id"])
            seen = (await a.get(f"/companies/{company['id']}")).json()["connections"]
            assert [c["id"] for c in seen] == [connection["id"]]
            # Concurrent writers on both wait for each other instead of failing.
            replies = await asyncio.gather(
                *(a.post("/companies", json={"name": f"A{i}"}) for i in range(15)),
                *(b.post("/companies", json={"name": f"B{i}"}) for i in range(15)),
            )
            assert {r.status_code for r in replies} == {201}
            assert (await a.get("/companies")).json()["totalResults"] == 31
            # A key revoked through one is refused by the other.
            one.store.revoke_key(one.api_key)
            assert (await b.get("/companies")).status_code == 401


def test_stop_is_idempotent_and_start_reports_a_busy_port(tmp_path: Path):
    sandbox = EmbeddedSandbox(tmp_path).start()
    port = int(sandbox.origin.rsplit(":", 1)[1])
    with pytest.raises(SandboxStartError, match=f"Cannot listen on 127.0.0.1:{port}"):
        EmbeddedSandbox(tmp_path / "other", port=port).start()
    sandbox.stop()
    sandbox.stop()
    assert not sandbox.running
    with pytest.raises(RuntimeError, match="not started"):
        _ = sandbox.base_url


def test_unusable_data_is_a_start_error(tmp_path: Path):
    SandboxStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "sandbox.db") as db:
        db.execute("PRAGMA user_version = 99")
    sandbox = EmbeddedSandbox(tmp_path)
    with pytest.raises(SandboxStartError, match="schema version 99"):
        sandbox.start()
    assert not sandbox.running


def test_starts_from_a_worker_thread(tmp_path: Path):
    result: dict[str, object] = {}

    def run() -> None:
        with EmbeddedSandbox(tmp_path) as sandbox:
            reply = httpx.get(
                f"{sandbox.base_url}/sandbox",
                headers={"Authorization": f"Bearer {sandbox.api_key}"},
            )
            result["status"] = reply.status_code

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=20)
    assert result == {"status": 200}


def test_embedded_sandbox_prints_nothing(tmp_path: Path):
    code = (
        "import httpx, sys\n"
        "from s2b_tui.sandbox import EmbeddedSandbox\n"
        f"with EmbeddedSandbox({str(tmp_path)!r}) as s:\n"
        "    h = {'Authorization': 'Bearer ' + s.api_key}\n"
        "    httpx.get(s.base_url + '/companies', headers=h)\n"
        "    httpx.get(s.base_url + '/companies', headers={'Authorization': 'x'})\n"
        "    httpx.post(s.base_url + '/companies', headers=h, content=b'{bad')\n"
        "    httpx.get(s.origin + '/link/nothing')\n"
        "    import socket\n"  # garbage that makes uvicorn log a warning
        "    with socket.create_connection(s.origin[7:].split(':')) as raw:\n"
        "        raw.sendall(b'NOT HTTP AT ALL\\r\\n\\r\\n'); raw.recv(100)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")


def test_sandbox_never_imports_textual():
    code = (
        "import sys, s2b_tui.sandbox, s2b_tui.sandbox.cli\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'textual']\n"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_is_loopback():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.10", "example.com"]))


# ----------------------------------------------------------- the command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="s2b-tui")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["sandbox", *argv])


def test_serve_arguments():
    args = parse("serve")
    assert (args.sandbox_command, args.host, args.port, args.data_dir, args.link_ttl) == (
        "serve",
        "127.0.0.1",
        8787,
        None,
        7 * 86400,
    )
    args = parse("serve", "--port", "0", "--data-dir", "/tmp/x", "--link-ttl", "90")
    assert (args.port, args.data_dir, args.link_ttl) == (0, Path("/tmp/x"), 90)
    for bad in (["--port", "70000"], ["--link-ttl", "0"], ["--link-ttl", "soon"]):
        with pytest.raises(SystemExit):
            parse("serve", *bad)


_SERVE = (
    "import argparse, sys\n"
    "from s2b_tui.sandbox import cli\n"
    "parser = argparse.ArgumentParser()\n"
    "cli.add_parser(parser.add_subparsers(dest='command'))\n"
    "sys.exit(cli.run(parser.parse_args(sys.argv[1:])))\n"
)


def start_serve(*argv: str) -> tuple[subprocess.Popen, list[str]]:
    """Run `sandbox serve` in a child process; returns it and its first lines."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, "sandbox", "serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": "/nonexistent"},  # it must not need $HOME
    )
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while not lines or not lines[-1].startswith("Press Ctrl-C"):
        line = process.stdout.readline()
        if not line or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"serve did not start: {lines} {process.stderr.read()}")
        lines.append(line.rstrip("\n"))
    return process, lines


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_how_to_use_it_and_stops_cleanly(tmp_path: Path, stop_signal):
    process, lines = start_serve("--port", "0", "--data-dir", str(tmp_path), "--link-ttl", "120")
    try:
        assert lines[0].startswith("Sync2Books sandbox listening on http://127.0.0.1:")
        base_url = lines[0].rsplit(" ", 1)[1]
        assert base_url.endswith("/v1")
        key = (tmp_path / "api-key").read_text().strip()
        assert lines[1] == f"API key: {key}"
        assert lines[2] == f"Data: {tmp_path.resolve()}"
        assert not any(line.startswith("WARNING") for line in lines)
        info = httpx.get(f"{base_url}/sandbox", headers={"Authorization": f"Bearer {key}"})
        assert info.json()["linkTtlSeconds"] == 120
    finally:
        process.send_signal(stop_signal)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Traceback" not in err


async def test_serve_and_an_embedded_sandbox_share_a_data_dir(tmp_path: Path):
    process, lines = start_serve("--port", "0", "--data-dir", str(tmp_path))
    try:
        base_url = lines[0].rsplit(" ", 1)[1]
        with EmbeddedSandbox(tmp_path) as embedded:
            async with (
                api_http(embedded) as mine,
                httpx.AsyncClient(
                    base_url=base_url, headers={"Authorization": f"Bearer {embedded.api_key}"}
                ) as theirs,
            ):
                company = await create_company(theirs, "Made Elsewhere")
                assert (await mine.get(f"/companies/{company['id']}")).status_code == 200
                made_here = await create_company(mine, "Made Here")
                assert (await theirs.get(f"/companies/{made_here['id']}")).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0


def test_serve_on_a_busy_port_fails_clearly(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _SERVE,
                "sandbox",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stdout
