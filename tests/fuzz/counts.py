"""How many inputs the fuzzing and bad-input tests tried, and how many
server errors they saw; printed at the end of the run (see conftest.py)."""

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
