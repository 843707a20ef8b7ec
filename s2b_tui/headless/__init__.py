"""The headless twin of the console: `s2b-tui companies list`, `connect`,
`import`, `login`… for scripts and bulk work. Same client, same rules, no TUI.

Data goes to stdout, diagnostics to stderr. Exit codes (`runtime.ExitCode`):
0 ok, 1 API error, 2 usage, 3 not found, 4 not signed in or key refused.

`s2b-tui`'s start-up (the console's too) imports only this module: the
commands' names and help are here, and each command's parser is built from
`parser.py` only when that command is parsed.
"""

from __future__ import annotations

import argparse

#: name → the help line in `s2b-tui --help`.
COMMAND_HELP = {
    "login": "sign in: check an API key and store it for a profile",
    "logout": "forget a profile's stored key",
    "profiles": "list profiles; `profiles use` and `profiles set` change them",
    "status": "where the console would point now, and why",
    "companies": "list, show, create, edit and delete companies",
    "connections": "list a company's connections",
    "connect": "start connecting an integration; prints the link for the customer",
    "unlink": "disconnect a connection (the customer must authorize again)",
    "reauthorize": "a new link to reconnect a DISCONNECTED or ERROR connection",
    "import": "create a company per CSV row; prints a result CSV",
    "export": "every company as CSV, streamed (`export > companies.csv`)",
    "links": "list the links sent to customers, and cancel them",
    "events": "print changes as they happen (`events --follow`)",
    "completion": "print a bash or zsh completion script",
}
COMMANDS = frozenset(COMMAND_HELP)

__all__ = ["COMMANDS", "add_commands", "materialize", "run"]


class _LazyCommand:
    """A command whose parser is built when it is parsed: building every
    command's parser would cost the console about 10 ms of start-up."""

    def __init__(self, subparsers: argparse._SubParsersAction, name: str, help: str) -> None:
        self.subparsers = subparsers
        self.name = name
        self.help = help

    def build(self) -> argparse.ArgumentParser:
        from s2b_tui.headless.parser import BUILDERS

        def make(*, parents=(), description: str | None = None, handler: str | None = None):
            parser = self.subparsers._parser_class(
                prog=f"{self.subparsers._prog_prefix} {self.name}",
                description=description or self.help,
                parents=list(parents),
            )
            parser.set_defaults(format=None)
            if handler:
                parser.set_defaults(handler=handler)
            return parser

        parser = BUILDERS[self.name](make)
        self.subparsers._name_parser_map[self.name] = parser
        return parser

    def parse_known_args(self, args=None, namespace=None):
        return self.build().parse_known_args(args, namespace)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add every headless command to `s2b-tui`'s subparsers: its name and help
    now, its parser when it is used."""
    for name, help in COMMAND_HELP.items():
        subparsers._choices_actions.append(subparsers._ChoicesPseudoAction(name, (), help))
        subparsers._name_parser_map[name] = _LazyCommand(subparsers, name, help)


def materialize(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`parser` with every command's parser built (for completion scripts)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in list(action.choices.items()):
                if isinstance(sub, _LazyCommand):
                    action.choices[name] = sub.build()
    return parser


def run(args, parser=None) -> int:
    """Run the parsed headless command; returns the exit code."""
    from s2b_tui.headless.runtime import run_command

    return run_command(args, parser)
