"""Fuzzing and bad-input tests: the counts they keep are reported at the end."""

from __future__ import annotations

import pytest

from tests.fuzz import counts


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not counts.TRIED:
        return
    terminalreporter.write_sep("-", "fuzzing and bad input")
    for area, tried in sorted(counts.TRIED.items()):
        errors = counts.SERVER_ERRORS[area]
        terminalreporter.write_line(f"{area}: {tried:,} inputs tried, {errors} server errors")
    total = sum(counts.TRIED.values())
    errors = sum(counts.SERVER_ERRORS.values())
    terminalreporter.write_line(f"total: {total:,} inputs tried, {errors} server errors (5xx)")
