"""Performance benchmarks of s2b-tui: not part of the test run.

Run from the repository root with `.venv/bin/python -m tests.benchmarks`
(see run.py for the options). Times that depend on the machine are given as
ratios to a baseline measured in the same run where the target says so, and
as medians of several runs.
"""
