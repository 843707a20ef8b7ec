"""`s2b-tui events --follow` as a real process: it prints a customer's Allow as
it happens, survives the API going away and coming back (and a feed reset),
and Ctrl-C ends it quietly with exit 0. Every wait is bounded."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.headless.conftest import REPO, base_env

WAIT = 30.0  # the longest any one expected line may take


class Follow:
    """`s2b-tui events --follow …` in a process; its stdout and stderr lines
    are collected by two threads."""

    def __init__(self, tmp_path: Path, api: EmbeddedSandbox, *argv: str) -> None:
        env = base_env(tmp_path)
        env.update(S2B_API_KEY=api.api_key, S2B_BASE_URL=api.base_url)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "s2b_tui", "events", "--follow", "--interval", "0.2", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
            text=True,
            # Ctrl-C must reach it even where this test's SIGINT is ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.err_lines: list[str] = []
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _pump(stream, lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line)

    def line(self, timeout: float = WAIT) -> str:
        try:
            return self.out.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no line on stdout in {timeout} s; stderr: {self.errors()}"
            ) from None

    def json_line(self, timeout: float = WAIT) -> dict:
        return json.loads(self.line(timeout))

    def errors(self) -> list[str]:
        while not self.err.empty():
            self.err_lines.append(self.err.get())
        return self.err_lines

    def wait_for_error(self, text: str, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.err.get(timeout=0.2)
            except queue.Empty:
                continue
            self.err_lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not said on stderr in {timeout} s: {self.err_lines}")

    def interrupt(self) -> int:
        """Ctrl-C; the exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=WAIT)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT)


@pytest.fixture
def follows(tmp_path: Path):
    started: list[Follow] = []

    def start(api: EmbeddedSandbox, *argv: str) -> Follow:
        follow = Follow(tmp_path, api, *argv)
        started.append(follow)
        return follow

    yield start
    for follow in started:
        follow.kill()


def client(api: EmbeddedSandbox) -> httpx.Client:
    return httpx.Client(
        base_url=api.base_url, headers={"Authorization": f"Bearer {api.api_key}"}, timeout=10
    )


def latest(api: EmbeddedSandbox) -> int:
    with client(api) as http:
        return http.get("/events", params={"pageSize": 1}).json()["lastSequence"]


def create(api: EmbeddedSandbox, name: str) -> dict:
    with client(api) as http:
        reply = http.post("/companies", json={"name": name})
        assert reply.status_code == 201, reply.text
        return reply.json()


def test_follow_prints_a_customers_allow_as_it_happens(api, follows):
    follow = follows(api, "--after", str(latest(api)))
    name = f"Allowing {uuid.uuid4().hex[:8]}"
    company = create(api, name)
    with client(api) as http:
        link = http.post(f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"})
        assert link.status_code == 201, link.text
    assert "company.created" in follow.line() and "authorization.created" in follow.line()

    # The customer's click on the consent page.
    allowed = httpx.post(link.json()["authUrl"], data={"decision": "allow"}, timeout=10)
    assert allowed.status_code == 200
    line = follow.line()
    assert "authorization.completed" in line
    for part in ("CUSTOMER", name, "XERO", "PENDING→COMPLETED"):
        assert part in line, line
    assert "connection.connected" in follow.line()
    assert follow.interrupt() == 0
    assert follow.errors() == []


def test_follow_without_after_prints_only_new_events(api, follows):
    before = latest(api)
    follow = follows(api, "--json")
    # Until it has read where the feed is, what happens is not new to it:
    # make events until one is printed.
    deadline = time.monotonic() + WAIT
    made: list[str] = []
    event = None
    while event is None and time.monotonic() < deadline:
        made.append(create(api, f"Fresh {uuid.uuid4().hex[:8]}")["id"])
        try:
            event = json.loads(follow.out.get(timeout=0.5))
        except queue.Empty:
            continue
    assert event is not None, follow.errors()
    assert event["sequence"] > before and event["companyId"] in made
    assert event["type"] == "company.created"
    assert follow.interrupt() == 0


def test_follow_survives_a_restart_and_a_reset(tmp_path, follows):
    data = tmp_path / "sandbox"
    first = EmbeddedSandbox(data).start()
    port = urlsplit(first.origin).port
    assert port is not None
    try:
        follow = follows(first, "--json", "--type", "company", "--after", str(latest(first)))
        one = create(first, "Before The Restart")
        assert follow.json_line()["companyId"] == one["id"]
    finally:
        first.stop()
    follow.wait_for_error("the API is not answering")

    with EmbeddedSandbox(data, port=port) as second:
        two = create(second, "After The Restart")
        event = follow.json_line()
        assert (event["companyId"], event["type"]) == (two["id"], "company.created")
        follow.wait_for_error("the API answers again")

        with client(second) as http:
            reset = http.post("/sandbox/reset", json={"confirm": "RESET"})
            assert reset.status_code in (200, 204), reset.text
        follow.wait_for_error("the events feed no longer holds where this was")
        three = create(second, "After The Reset")
        assert follow.json_line()["companyId"] == three["id"]
        assert follow.out.empty()  # nothing printed twice
        assert follow.interrupt() == 0
