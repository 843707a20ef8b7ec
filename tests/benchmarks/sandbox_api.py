"""The sandbox API on its own: seeding, latency at 100,000 companies, throughput.

Everything here talks HTTP on loopback to one `s2b-tui sandbox serve` process,
started by `ServeProcess`; the load is bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.benchmarks.report import Figure, median, percentile

SERVE_START_TIMEOUT = 30.0


def console_environment() -> dict[str, str]:
    """The environment for the programs under test: no key (so the embedded
    sandbox is used), no Textual debugging, a common terminal, and bytecode
    cached as on any installation (a shell may have turned that off)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("S2B_", "TEXTUAL")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(TERM="xterm-256color", COLORTERM="truecolor", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    return env


class ServeProcess:
    """`s2b-tui sandbox serve` on a free loopback port, in its own process."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self._log = log.open("ab")
        serve = ["sandbox", "serve", "--port", "0", "--data-dir", str(data_dir)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "s2b_tui", *serve],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            env=console_environment(),
            text=True,
        )
        self.base_url = ""
        self.api_key = ""
        deadline = time.monotonic() + SERVE_START_TIMEOUT
        assert self.process.stdout is not None
        while not (self.base_url and self.api_key):
            line = self.process.stdout.readline()
            if not line or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox server did not start; see {log}")
            if "listening on " in line:
                self.base_url = line.split("listening on ", 1)[1].strip()
            elif line.startswith("API key: "):
                self.api_key = line.removeprefix("API key: ").strip()

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.base_url)
        assert parts.hostname is not None and parts.port is not None
        return parts.hostname, parts.port

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=timeout,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


# ---------------------------------------------------------------- seeding


def seed(server: ServeProcess, companies: int) -> float:
    """Seconds for `POST /sandbox/seed` of `companies` (2 connections each)."""
    with server.client(timeout=300) as http:
        started = time.perf_counter()
        reply = http.post(
            "/sandbox/seed",
            json={"companies": companies, "connectionsPerCompany": 2, "seed": 1},
        )
        elapsed = time.perf_counter() - started
    reply.raise_for_status()
    assert reply.json() == {"created": companies}, reply.text
    return elapsed


def seeding_figure(seconds: list[float], companies: int) -> Figure:
    return Figure(
        "Seeding",
        f"POST /sandbox/seed, {companies:,} companies (median of {len(seconds)})",
        median(seconds),
        "s",
        target=10.0,
        note=f"runs {', '.join(f'{s:.2f}' for s in seconds)} s",
        samples=seconds,
    )


# ---------------------------------------------------------------- latency


@dataclass(frozen=True)
class Scenario:
    group: str  # "list", "search" or "page jump"
    label: str
    params: dict


def scenarios(http: httpx.Client, companies: int) -> list[Scenario]:
    """What the console asks for at 100,000 companies."""
    some_id = http.get("/companies", params={"page": 777}).json()["results"][0]["id"]
    last_page = -(-companies // 50)
    return [
        Scenario("list", "first page, newest first", {}),
        Scenario("list", "first page by name", {"orderBy": "name"}),
        Scenario("search", "'plumb'", {"query": "plumb"}),
        Scenario("search", "'son' (a quarter of all names)", {"query": "son"}),
        Scenario("search", "'Golden Fern' by name", {"query": "Golden Fern", "orderBy": "name"}),
        Scenario("search", "'ab' (two letters: no index)", {"query": "ab"}),
        Scenario("search", "an id", {"query": some_id}),
        Scenario("search", "no match", {"query": "qqxz"}),
        Scenario("page jump", "page 1,000", {"page": 1000}),
        Scenario("page jump", "page 1,000 by name", {"page": 1000, "orderBy": "name"}),
        Scenario("page jump", "last page by -name", {"page": last_page, "orderBy": "-name"}),
        Scenario("page jump", "'son', page 100", {"query": "son", "page": 100}),
    ]


def latency(server: ServeProcess, companies: int, samples: int) -> list[Figure]:
    """p50 and p99 of each scenario, requests interleaved so that noise from
    the rest of the machine spreads over all of them alike."""
    with server.client() as http:
        chosen = scenarios(http, companies)
        timings: list[list[float]] = [[] for _ in chosen]
        floor: list[float] = []

        def timed(path: str, params: dict) -> float:
            started = time.perf_counter()
            reply = http.get(path, params=params)
            elapsed = (time.perf_counter() - started) * 1000
            assert reply.status_code == 200, reply.text
            return elapsed

        for round_ in range(samples + 3):
            warm_up = round_ < 3
            for scenario, values in zip(chosen, timings, strict=True):
                elapsed = timed("/companies", {"pageSize": 50, **scenario.params})
                if not warm_up:
                    values.append(elapsed)
            # The same server's cheapest call: the floor the others stand on.
            elapsed = timed("/integrations", {})
            if not warm_up:
                floor.append(elapsed)
    floor_p50 = median(floor)
    summaries: list[Figure] = []
    details: list[Figure] = []
    for group in dict.fromkeys(s.group for s in chosen):
        in_group = [(s, v) for s, v in zip(chosen, timings, strict=True) if s.group == group]
        for label, statistic, target in (("p50", median, 15.0), ("p99", _p99, 50.0)):
            by_kind = {s.label: statistic(v) for s, v in in_group}
            slowest = max(by_kind, key=by_kind.__getitem__)
            summaries.append(
                Figure(
                    "API latency",
                    f"GET /companies {group}, {label}, slowest of {len(in_group)} kinds",
                    by_kind[slowest],
                    "ms",
                    target,
                    note=f"{slowest}; {by_kind[slowest] / floor_p50:.1f}× the floor",
                )
            )
        for scenario, values in in_group:
            name = f"GET /companies {group}: {scenario.label}"
            rounded = [round(v, 3) for v in values]
            details.append(
                Figure("API latency", f"{name}, p50", median(values), "ms", 15.0, detail=True)
            )
            details.append(
                Figure(
                    "API latency",
                    f"{name}, p99",
                    _p99(values),
                    "ms",
                    50.0,
                    samples=rounded,
                    detail=True,
                )
            )
    floor_figure = Figure(
        "API latency",
        "floor: GET /integrations (no database), p50",
        floor_p50,
        "ms",
        note=f"{len(floor)} requests",
    )
    return [*summaries, floor_figure, *details]


def _p99(values: list[float]) -> float:
    return percentile(values, 99)


# ------------------------------------------------------------- throughput


async def _load(
    host: str, port: int, request: bytes, connections: int, count: int, seconds: float
) -> tuple[int, float, int]:
    """Send `request` over `connections` keep-alive connections until `count`
    replies or `seconds` pass; returns (replies, elapsed seconds, non-200s)."""
    sent = 0
    replies = 0
    failures = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def one_connection() -> None:
        nonlocal sent, replies, failures
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while sent < count and time.perf_counter() < deadline:
                sent += 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status_line, *header_lines = head.decode("latin-1").split("\r\n")
                length = 0
                for line in header_lines:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                replies += 1
                failures += status_line.split(" ")[1] != "200"
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return replies, time.perf_counter() - started, failures


def throughput(
    server: ServeProcess, *, runs: int, count: int, seconds: float, connections: int
) -> Figure:
    """Requests per second for `GET /companies?pageSize=50`, median of `runs`."""
    host, port = server.address
    request = (
        "GET /v1/companies?pageSize=50 HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Authorization: Bearer {server.api_key}\r\n"
        "\r\n"
    ).encode()

    def run(limit_count: int, limit_seconds: float) -> tuple[int, float, int]:
        return asyncio.run(_load(host, port, request, connections, limit_count, limit_seconds))

    run(200, 5.0)  # warm-up
    rates = []
    for _ in range(runs):
        replies, elapsed, failures = run(count, seconds)
        if failures:
            raise AssertionError(f"{failures} of {replies} replies were not 200")
        rates.append(replies / elapsed)
    return Figure(
        "Sandbox throughput",
        f"GET /companies?pageSize=50, keep-alive, {connections} connections, "
        f"one server process (median of {runs})",
        median(rates),
        "req/s",
        target=500.0,
        better="higher",
        note=f"runs {', '.join(f'{r:.0f}' for r in rates)}; at most {count:,} requests "
        f"or {seconds:g} s each",
        samples=rates,
    )
