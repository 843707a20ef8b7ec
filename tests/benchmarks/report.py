"""Figures, their targets, and how they are shown: a table, markdown, JSON."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

PASS, MISS, INFO = "PASS", "MISS", "—"


@dataclass
class Figure:
    """One measured figure beside its target.

    `better` says which way the target points: "lower" (value ≤ target),
    "higher" (value ≥ target), or "equal". No target: shown for information.
    """

    section: str
    name: str
    value: float
    unit: str
    target: float | None = None
    better: str = "lower"
    note: str = ""
    samples: Sequence[float] = field(default_factory=list)
    #: Printed in the table and kept in JSON, left out of the markdown summary.
    detail: bool = False

    @property
    def status(self) -> str:
        if self.target is None or math.isnan(self.value):
            return INFO if self.target is None else MISS
        if self.better == "lower":
            return PASS if self.value <= self.target else MISS
        if self.better == "higher":
            return PASS if self.value >= self.target else MISS
        return PASS if self.value == self.target else MISS

    @property
    def shown_value(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def shown_target(self) -> str:
        if self.target is None:
            return ""
        sign = {"lower": "≤ ", "higher": "≥ ", "equal": ""}[self.better]
        return sign + format_value(self.target, self.unit)


def format_value(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "×":
        return f"{value:.2f}×"
    if unit == "%":
        return f"{value:.2f} %"
    if unit in ("cells", "req/s"):
        return f"{value:,.0f} {unit}"
    if unit == "ms" and value < 10:
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:,.0f} {unit}"


# ------------------------------------------------------------- statistics


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else math.nan


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile, interpolated between the nearest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# ---------------------------------------------------------------- machine


def calibration_ms() -> float:
    """Median time of a fixed pure-Python workload: how fast this machine
    (and its current load) runs Python, so runs on two machines compare."""

    def workload() -> int:
        total = 0
        for i in range(200_000):
            total += i * i % 7
        return total

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        workload()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def describe_machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        cpu = platform.processor() or cpu
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {}
    for package in ("textual", "starlette", "uvicorn", "pydantic", "httpx"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": versions,
        "calibration_ms": round(calibration_ms(), 2),
    }


def machine_line(machine: dict[str, object]) -> str:
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"{machine['os']}; Python {machine['python']}; "
        f"load average {machine['load_average']}; "
        f"calibration loop {machine['calibration_ms']} ms"
    )


# ----------------------------------------------------------------- output


def table(figures: Sequence[Figure]) -> str:
    """A plain-text table, one section after another."""
    headers = ("Measure", "Result", "Target", "", "Note")
    rows = [
        (f.name, f.shown_value, f.shown_target, f.status if f.target is not None else "", f.note)
        for f in figures
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers[:4])]
    lines = []
    section = None
    for figure, row in zip(figures, rows, strict=True):
        if figure.section != section:
            section = figure.section
            lines.append("")
            lines.append(section)
            lines.append(
                "  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))
            )
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2])]
        cells.append(row[3].ljust(widths[3]))
        lines.append("  " + "  ".join(cells) + ("  " + row[4] if row[4] else ""))
    return "\n".join(lines)


def markdown(figures: Sequence[Figure]) -> str:
    """The figures but the details, as a markdown table (the README's
    performance section)."""
    lines = ["| | measure | result | target | |", "|---|---|---:|---:|---|"]
    section = None
    for f in (f for f in figures if not f.detail):
        shown_section = f"**{f.section}**" if f.section != section else ""
        section = f.section
        status = f.status if f.target is not None else ""
        note = f" ({f.note})" if f.note else ""
        lines.append(
            f"| {shown_section} | {f.name}{note} | {f.shown_value} | {f.shown_target} | {status} |"
        )
    return "\n".join(lines)


def write_json(
    path: Path, figures: Sequence[Figure], machine: dict[str, object], settings: dict
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "settings": settings,
        "figures": [{**asdict(f), "status": f.status} for f in figures],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
