"""Run every benchmark, print the figures beside their targets, write JSON.

    .venv/bin/python -m tests.benchmarks [--quick] [--json PATH] [--markdown]

Run it from the repository root. It seeds a temporary sandbox with 100,000
companies (that is the seeding measure), then measures the API, start-up,
the console in a pseudo-terminal and the live table, and deletes its data.
The exit status is 1 when a figure misses its target.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks import cell_updates, console, sandbox_api
from tests.benchmarks.dataset import Dataset, add_live_company
from tests.benchmarks.report import (
    MISS,
    Figure,
    describe_machine,
    machine_line,
    markdown,
    table,
    write_json,
)

DEFAULT_JSON = Path(__file__).with_name("results.json")
SECTIONS = (
    "Start-up",
    "API latency",
    "Search and paging in the console",
    "Live table",
    "Memory",
    "Sandbox throughput",
    "Seeding",
)
PARTS = ("startup", "api", "console", "cells")


@dataclass(frozen=True)
class Plan:
    """How many samples of everything: `full` for the figures, `quick` to try the harness."""

    companies: int
    seed_runs: int
    startup_runs: int
    latency_samples: int
    throughput_runs: int
    throughput_requests: int
    throughput_seconds: float
    throughput_connections: int
    refreshes: int
    session: console.SessionSettings


FULL = Plan(
    companies=100_000,
    seed_runs=3,
    startup_runs=5,
    latency_samples=200,
    throughput_runs=3,
    throughput_requests=5_000,
    throughput_seconds=10.0,
    throughput_connections=4,
    refreshes=10,
    session=console.SessionSettings(
        search_rounds=2, page_jumps=10, status_changes=3, idle_seconds=20.0
    ),
)
QUICK = Plan(
    companies=100_000,
    seed_runs=1,
    startup_runs=2,
    latency_samples=30,
    throughput_runs=1,
    throughput_requests=1_000,
    throughput_seconds=5.0,
    throughput_connections=4,
    refreshes=3,
    session=console.SessionSettings(
        search_rounds=1, page_jumps=4, status_changes=1, idle_seconds=6.0
    ),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description="Measure s2b-tui against its performance targets.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples: to try the harness, not for figures"
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"where to write results ({DEFAULT_JSON})"
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="measure only this part (repeatable); seeding is always measured",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the seeded data dir and print where"
    )
    return parser.parse_args(argv)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def prepare(plan: Plan, work: Path) -> tuple[Dataset, list[Figure]]:
    """Seed fresh data dirs through the API (timed), keep the last one, and
    add the live-table company to it."""
    seconds = []
    for run in range(plan.seed_runs):
        root = work / f"data-{run}"
        progress(f"seeding {plan.companies:,} companies ({run + 1} of {plan.seed_runs})")
        with sandbox_api.ServeProcess(root / "sandbox", work / "serve.log") as server:
            seconds.append(sandbox_api.seed(server, plan.companies))
        if run < plan.seed_runs - 1:
            shutil.rmtree(root)
    dataset = add_live_company(root, plan.companies)
    return dataset, [sandbox_api.seeding_figure(seconds, plan.companies)]


def measure(plan: Plan, dataset: Dataset, parts: set[str], work: Path) -> list[Figure]:
    figures: list[Figure] = []
    if "api" in parts:
        with sandbox_api.ServeProcess(dataset.sandbox_dir, work / "serve.log") as server:
            progress(f"API latency, {plan.latency_samples} requests per scenario")
            figures += sandbox_api.latency(server, dataset.companies, plan.latency_samples)
            progress("throughput")
            figures.append(
                sandbox_api.throughput(
                    server,
                    runs=plan.throughput_runs,
                    count=plan.throughput_requests,
                    seconds=plan.throughput_seconds,
                    connections=plan.throughput_connections,
                )
            )
    if "startup" in parts:
        progress(f"start-up, {plan.startup_runs} runs of the console and of the baseline")
        figures += console.startup(dataset, plan.startup_runs, work / "serve.log")
    if "console" in parts:
        progress("the console in a terminal: searches, page keys, the live table")
        figures += console.session(dataset, plan.session)
    if "cells" in parts:
        progress("live table cell updates")
        figures += cell_updates.cell_updates(dataset, plan.refreshes)
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    parts = set(args.only or PARTS)
    progress("describing the machine")
    machine = describe_machine()
    work = Path(tempfile.mkdtemp(prefix="s2b-bench-"))
    started = time.monotonic()
    try:
        dataset, figures = prepare(plan, work)
        figures += measure(plan, dataset, parts, work)
    finally:
        if args.keep_data:
            progress(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    figures.sort(key=lambda f: SECTIONS.index(f.section))
    elapsed = time.monotonic() - started

    print(f"\ns2b-tui benchmarks ({'quick' if args.quick else 'full'}, {elapsed:.0f} s)")
    print(f"Machine: {machine_line(machine)}")
    print(table(figures))
    if args.markdown:
        print("\n" + markdown(figures))
    settings = {
        "command": "python -m tests.benchmarks " + " ".join(argv or sys.argv[1:]),
        "plan": "quick" if args.quick else "full",
        "parts": sorted(parts),
        "seconds": round(elapsed, 1),
    }
    write_json(args.json, figures, machine, settings)
    print(f"\nJSON: {args.json}")
    misses = [f for f in figures if f.status == MISS]
    if misses:
        print(f"{len(misses)} figure(s) miss their target.")
    return 1 if misses else 0
