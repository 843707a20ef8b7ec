"""How many inputs the fuzzing and bad-input tests tried, and how many
server errors they saw; printed at the end of the run (see tests/conftest.py).

In a parallel run each worker counts its own tests; the controller adds up
what the workers report when they finish (`snapshot` there, `add` here)."""

from __future__ import annotations

from collections import Counter

#: inputs tried, by test area
TRIED: Counter[str] = Counter()
#: 5xx replies seen, by test area (the target is none at all)
SERVER_ERRORS: Counter[str] = Counter()


def tried(area: str, count: int = 1) -> None:
    TRIED[area] += count


def server_error(area: str) -> None:
    SERVER_ERRORS[area] += 1


def snapshot() -> dict[str, dict[str, int]]:
    """This process's counts, as plain data another process can receive."""
    return {"tried": dict(TRIED), "server_errors": dict(SERVER_ERRORS)}


def add(counts: dict[str, dict[str, int]]) -> None:
    """Add another process's `snapshot()` to this one's counts."""
    TRIED.update(counts["tried"])
    SERVER_ERRORS.update(counts["server_errors"])


def summary() -> list[str]:
    """The lines printed at the end of the run; none if nothing was fuzzed."""
    if not TRIED:
        return []
    lines = [
        f"{area}: {tried:,} inputs tried, {SERVER_ERRORS[area]} server errors"
        for area, tried in sorted(TRIED.items())
    ]
    total, errors = sum(TRIED.values()), sum(SERVER_ERRORS.values())
    lines.append(f"total: {total:,} inputs tried, {errors} server errors (5xx)")
    return lines
