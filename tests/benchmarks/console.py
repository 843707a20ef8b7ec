"""The console as a person runs it: `s2b-tui --data-dir DIR` in a real
pseudo-terminal, on the embedded sandbox at 100,000 companies.

"Painted" means the text reached the terminal: every figure here is read from
what the program wrote, with the time it arrived.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from s2b_tui.config import DEFAULT_REFRESH_SECONDS
from s2b_tui.sandbox.process import SandboxProcess
from s2b_tui.screens.companies import SEARCH_DEBOUNCE_SECONDS
from tests.benchmarks import baseline_app
from tests.benchmarks.dataset import (
    LIVE_COMPANY_NAME,
    LIVE_COMPANY_QUERY,
    LIVE_CONNECTIONS,
    Dataset,
)
from tests.benchmarks.report import Figure, median, percentile
from tests.benchmarks.sandbox_api import ServeProcess, console_environment
from tests.benchmarks.terminal import ENTER, ESCAPE, Terminal

PAGE_DOWN, PAGE_UP = "\x1b[6~", "\x1b[5~"
#: Candidate searches; those whose first result is already on the first page are skipped.
SEARCHES = (
    "plumb", "Golden", "Harrow", "Okafor", "kettle", "Dental", "brew", "Summit", "yoga",
    "Thistle", "Pottery", "Veterinary", "Lantern", "Osei",
)  # fmt: skip
#: Painted by the company screen after every refresh (its live indicator).
LIVE_INDICATOR = f"live · {DEFAULT_REFRESH_SECONDS:g}s"
#: Time for the console to act on a key that paints nothing we can wait for (focus).
FOCUS_SETTLE_SECONDS = 0.2
MB = 1_000_000


def console_terminal(dataset: Dataset, env: dict[str, str] | None = None) -> Terminal:
    return Terminal(
        [sys.executable, "-m", "s2b_tui", "--data-dir", str(dataset.root)],
        env=env or console_environment(),
    )


def baseline_terminal() -> Terminal:
    return Terminal([sys.executable, baseline_app.__file__], env=console_environment())


# --------------------------------------------------------------- start-up


def _time_to_paint(terminal: Terminal, text: str) -> float:
    """Seconds from process start until `text` is painted; then quit."""
    with terminal:
        return terminal.wait_for(text, timeout=60) - terminal.started


def _sandbox_ready_ms(dataset: Dataset) -> float:
    """Milliseconds from starting the console's sandbox process until it serves."""
    started = time.perf_counter()
    process = SandboxProcess(dataset.sandbox_dir).start()
    try:
        process.wait_ready()
        return (time.perf_counter() - started) * 1000
    finally:
        process.stop()


def startup(dataset: Dataset, runs: int, log: Path) -> list[Figure]:
    """Process start → first rows painted, the programs in turn (after one
    unmeasured start of each, which warms the file cache).

    Besides the console as shipped (embedded sandbox), the console is also
    started against an already running sandbox, as against a remote API:
    the difference is what starting the embedded sandbox costs."""
    first_row = dataset.first_names()[0]
    with ServeProcess(dataset.sandbox_dir, log) as server:
        remote_env = console_environment()
        remote_env.update(S2B_API_KEY=server.api_key, S2B_BASE_URL=server.base_url)
        programs = {
            "baseline": (baseline_terminal, baseline_app.ROW_TEXT),
            "console": (lambda: console_terminal(dataset), first_row),
            "remote": (lambda: console_terminal(dataset, remote_env), first_row),
        }
        timings: dict[str, list[float]] = {name: [] for name in programs}
        for run in range(runs + 1):
            for name, (start, text) in programs.items():
                elapsed = _time_to_paint(start(), text) * 1000
                if run:
                    timings[name].append(elapsed)
    baseline, console, remote = timings["baseline"], timings["console"], timings["remote"]
    sandbox = [_sandbox_ready_ms(dataset) for _ in range(runs)]

    def runs_note(values: list[float]) -> str:
        return f"runs {', '.join(f'{v:.0f}' for v in values)}"

    return [
        Figure(
            "Start-up",
            f"process start → first company rows, as a multiple of the baseline "
            f"(medians of {runs})",
            median(console) / median(baseline),
            "×",
            target=2.0,
            samples=[c / b for c, b in zip(console, baseline, strict=True)],
        ),
        Figure(
            "Start-up",
            f"console, embedded sandbox at {dataset.companies:,} companies",
            median(console),
            "ms",
            note=runs_note(console),
            samples=console,
        ),
        Figure(
            "Start-up",
            "console against an already running sandbox (S2B_API_KEY set), for comparison",
            median(remote),
            "ms",
            note=f"{median(remote) / median(baseline):.2f}× the baseline; {runs_note(remote)}",
            samples=remote,
        ),
        Figure(
            "Start-up",
            "the embedded sandbox's process alone: start → serving",
            median(sandbox),
            "ms",
            note=f"started first thing by the console, alongside it; {runs_note(sandbox)}",
            samples=sandbox,
        ),
        Figure(
            "Start-up",
            "baseline: a minimal Textual app showing a one-row DataTable",
            median(baseline),
            "ms",
            note=runs_note(baseline),
            samples=baseline,
        ),
    ]


# ------------------------------------------------------ one long session


@dataclass
class SessionSettings:
    search_rounds: int  # each round types every chosen search once
    page_jumps: int
    status_changes: int
    idle_seconds: float


class ConsoleSession:
    """One console run: searches, page keys, the live table, then quit."""

    def __init__(self, dataset: Dataset, settings: SessionSettings) -> None:
        self.dataset = dataset
        self.settings = settings
        self.first_row = dataset.first_names()[0]
        self.searching = False
        self.figures: list[Figure] = []

    def run(self) -> list[Figure]:
        with console_terminal(self.dataset) as terminal:
            terminal.wait_for(self.first_row, timeout=60)
            self._searches(terminal)
            self._page_keys(terminal)
            self._live_table(terminal)
            # Read before quitting: the sandbox's process ends with the console.
            peak = terminal.peak_rss_bytes()
            ended = terminal.quit()
        processes = len(peak.processes)
        self.figures.append(
            Figure(
                "Memory",
                f"peak RSS, console + embedded sandbox at {self.dataset.companies:,} companies",
                max(peak.total, ended.peak_rss_bytes) / MB,
                "MB",
                target=150.0,
                note="whole session: start-up, searches, paging, the 500-connection live table; "
                f"{processes} processes' peaks added up: "
                + " + ".join(f"{rss / MB:.0f}" for rss in peak.processes),
            )
        )
        return self.figures

    def _clear_search(self, terminal: Terminal) -> None:
        """Escape: back to the unfiltered first page, table focused."""
        mark = terminal.mark()
        terminal.send(ESCAPE)
        if self.searching:
            terminal.wait_for(self.first_row, after=mark)
            self.searching = False
            # Clearing the box also starts the search debounce, whose timer
            # would put a page key pressed meanwhile back on page 1.
            time.sleep(SEARCH_DEBOUNCE_SECONDS + FOCUS_SETTLE_SECONDS)
        else:
            time.sleep(FOCUS_SETTLE_SECONDS)

    def _searches(self, terminal: Terminal) -> None:
        on_first_page = self.dataset.page_names(1)
        chosen = []
        for query in SEARCHES:
            expected = self.dataset.first_names(query=query)[0]
            if expected and expected not in on_first_page:
                chosen.append((query, expected))
        latencies: list[float] = []
        for _ in range(self.settings.search_rounds):
            for query, expected in chosen:
                self._clear_search(terminal)
                terminal.send("/")
                time.sleep(FOCUS_SETTLE_SECONDS)
                mark = terminal.mark()
                typed = terminal.send(query)
                painted = terminal.wait_for(expected, after=mark)
                self.searching = True
                latencies.append((painted - typed - SEARCH_DEBOUNCE_SECONDS) * 1000)
        debounce_ms = SEARCH_DEBOUNCE_SECONDS * 1000
        self.figures.append(
            Figure(
                "Search and paging in the console",
                f"search: typed → results painted, less the {debounce_ms:.0f} ms debounce "
                f"(median of {len(latencies)})",
                median(latencies),
                "ms",
                target=150.0,
                note=f"p90 {percentile(latencies, 90):.0f} ms; "
                f"{len(chosen)} searches: {', '.join(q for q, _ in chosen)}",
                samples=latencies,
            )
        )

    def _page_keys(self, terminal: Terminal) -> None:
        self._clear_search(terminal)
        half = max(1, self.settings.page_jumps // 2)
        firsts = self.dataset.first_names(pages=half + 1)
        # Forward with ] and pgdn alternately, then back with [ and pgup.
        moves = [("]" if i % 2 else PAGE_DOWN, firsts[i + 1]) for i in range(half)]
        moves += [("[" if i % 2 else PAGE_UP, firsts[half - 1 - i]) for i in range(half)]
        latencies = []
        for key, expected in moves:
            mark = terminal.mark()
            pressed = terminal.send(key)
            latencies.append((terminal.wait_for(expected, after=mark) - pressed) * 1000)
        self.figures.append(
            Figure(
                "Search and paging in the console",
                f"page keys (] [ pgdn pgup): pressed → page painted (median of {len(latencies)})",
                median(latencies),
                "ms",
                target=150.0,
                note=f"p90 {percentile(latencies, 90):.0f} ms",
                samples=latencies,
            )
        )

    def _live_table(self, terminal: Terminal) -> None:
        settings, dataset = self.settings, self.dataset
        # Find the company (enter searches at once) and open it.
        self._clear_search(terminal)
        terminal.send("/")
        time.sleep(FOCUS_SETTLE_SECONDS)
        mark = terminal.mark()
        terminal.send(LIVE_COMPANY_QUERY + ENTER)
        terminal.wait_for(LIVE_COMPANY_NAME, after=mark)
        self.searching = True
        time.sleep(FOCUS_SETTLE_SECONDS)
        mark = terminal.mark()
        opened = terminal.send(ENTER)
        painted = terminal.wait_for(f"Connections ({LIVE_CONNECTIONS})", after=mark)
        self.figures.append(
            Figure(
                "Live table",
                f"open a company → its {LIVE_CONNECTIONS} connections painted",
                (painted - opened) * 1000,
                "ms",
            )
        )

        # A status change made just after a refresh was painted: the worst
        # moment, a whole interval before the next refresh can show it.
        store = dataset.store()
        latencies = []
        try:
            for index in range(settings.status_changes):
                terminal.wait_for(LIVE_INDICATOR, after=terminal.mark())
                code = f"BENCHMARK_{index}"
                mark = terminal.mark()
                store.simulate(
                    dataset.live_company_id, dataset.live_connection_id, "ERROR", error_code=code
                )
                changed = time.perf_counter()
                latencies.append(terminal.wait_for(code, after=mark) - changed)
                mark = terminal.mark()
                store.simulate(dataset.live_company_id, dataset.live_connection_id, "CONNECTED")
                terminal.wait_for("is now CONNECTED", after=mark)
        finally:
            store.close()
        limit = DEFAULT_REFRESH_SECONDS + 0.2
        self.figures.append(
            Figure(
                "Live table",
                f"a status change → painted, refresh every {DEFAULT_REFRESH_SECONDS:g} s "
                f"(median of {len(latencies)})",
                median(latencies),
                "s",
                target=limit,
                note=f"worst {max(latencies):.2f} s; each change made just after a refresh",
                samples=latencies,
            )
        )

        # Idle: nothing changes, the table refreshes on its own. Highlights
        # and notifications from the changes above have gone by then.
        time.sleep(6)
        live_rate, refreshes = self._cpu_rate(terminal, settings.idle_seconds)
        terminal.send("p")  # pause: what the console costs without refreshing
        time.sleep(1)
        paused_rate, _ = self._cpu_rate(terminal, settings.idle_seconds / 2)
        per_refresh = (live_rate - paused_rate) * settings.idle_seconds / max(refreshes, 1)
        self.figures.append(
            Figure(
                "Live table",
                f"idle CPU with live refresh every {DEFAULT_REFRESH_SECONDS:g} s, "
                f"{LIVE_CONNECTIONS} connections",
                live_rate * 100,
                "%",
                target=2.0,
                note=f"of one core over {settings.idle_seconds:g} s, {refreshes} refreshes; "
                f"paused: {paused_rate * 100:.2f} %",
            )
        )
        self.figures.append(
            Figure(
                "Live table",
                "CPU per refresh cycle (live less paused, per refresh)",
                per_refresh * 1000,
                "ms",
                note="console and embedded sandbox together",
            )
        )

    @staticmethod
    def _cpu_rate(terminal: Terminal, seconds: float) -> tuple[float, int]:
        """CPU seconds per second over `seconds`, and the refreshes painted meanwhile."""
        mark = terminal.mark()
        before = terminal.cpu_seconds()
        time.sleep(seconds)
        used = terminal.cpu_seconds() - before
        return used / seconds, terminal.painted_since(mark).count(LIVE_INDICATOR)


def session(dataset: Dataset, settings: SessionSettings) -> list[Figure]:
    return ConsoleSession(dataset, settings).run()
