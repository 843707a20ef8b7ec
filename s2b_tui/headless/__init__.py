"""The headless twin of the console: `s2b-tui companies list`, `connect`,
`import`, `login`… for scripts and bulk work. Same client, same rules, no TUI.

Data goes to stdout, diagnostics to stderr. Exit codes (`ExitCode`): 0 ok,
1 API error, 2 usage, 3 not found, 4 not signed in or key refused.

Only the parser is imported on `s2b-tui`'s start-up (it is part of the
command line's); each command's module loads when that command runs.
"""

from __future__ import annotations

from s2b_tui.headless.parser import COMMANDS, add_commands

__all__ = ["COMMANDS", "add_commands", "run"]


def run(args, parser=None) -> int:
    """Run the parsed headless command; returns the exit code."""
    from s2b_tui.headless.runtime import run_command

    return run_command(args, parser)
