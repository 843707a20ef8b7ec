"""`s2b-tui`: the console; `s2b-tui sandbox serve`: a standalone sandbox API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from s2b_tui import __version__
from s2b_tui.startup import pause_gc, resume_gc

# Everything else is imported in `main`, once garbage collection is paused.


def build_parser() -> argparse.ArgumentParser:
    from s2b_tui.config import DEFAULT_REFRESH_SECONDS

    parser = argparse.ArgumentParser(
        prog="s2b-tui",
        description=(
            "Sync2Books onboarding console. With no S2B_API_KEY and no profile it starts an "
            "embedded sandbox; with a profile (`s2b-tui login`) or S2B_API_KEY (and "
            "S2B_BASE_URL) it talks to that API. The key is never read from a flag. "
            "The commands below do the console's work from scripts (docs/cli.md)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"s2b-tui {__version__}")
    parser.add_argument("--profile", help="the profile to use (default: $S2B_PROFILE)")
    parser.add_argument("--base-url", help="API base URL, e.g. https://api.sync2books.com/v1")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="use the embedded sandbox even when S2B_API_KEY is set",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where the embedded sandbox keeps its data (default: $S2B_DATA_DIR or the "
        "user data dir)",
    )
    parser.add_argument(
        "--refresh",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"live table refresh interval (default {DEFAULT_REFRESH_SECONDS:g})",
    )
    parser.add_argument(
        "--read-only",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="never change anything: no create, unlink or delete (default: the profile's)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from s2b_tui.headless import add_commands
    from s2b_tui.sandbox.cli import add_parser as add_sandbox_parser

    add_sandbox_parser(commands)
    add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    pause_gc()  # resumed once the first screen is up (`ConsoleApp`), or here
    try:
        return _main(argv)
    finally:
        resume_gc()


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        from s2b_tui.sandbox.cli import run as run_sandbox

        resume_gc()  # a server runs for hours: collect as usual
        return run_sandbox(args)
    from s2b_tui.headless import COMMANDS, run

    if args.command in COMMANDS:
        resume_gc()  # a command, not a screen to draw fast
        return run(args, parser)
    from s2b_tui.config import Settings, SettingsError

    try:
        settings = Settings.resolve(
            base_url=args.base_url,
            use_sandbox=args.sandbox,
            data_dir=args.data_dir,
            refresh_seconds=args.refresh,
            read_only=args.read_only,
            profile=args.profile,
        )
    except (SettingsError, ValueError) as exc:
        print(f"s2b-tui: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)  # 4: the profile is not signed in
    sandbox = None
    if settings.embedded_sandbox:
        from s2b_tui.sandbox.process import SandboxProcess

        # Started before the console loads: it gets ready on another core meanwhile.
        sandbox = SandboxProcess(settings.sandbox_data_dir).start()
    try:
        # httpx imports its own command line (click, pygments) whenever they
        # are installed, which costs start-up time; this process never uses
        # it, and httpx does without it (`httpx.main` then says it is missing).
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
        from s2b_tui.api.errors import InvalidApiKeyError
        from s2b_tui.app import make_app

        try:
            app = make_app(settings, sandbox)
        except (InvalidApiKeyError, ValueError) as exc:
            print(f"s2b-tui: {exc}", file=sys.stderr)
            return 2
        app.run()
        return app.return_code or 0
    finally:
        if sandbox is not None:
            sandbox.stop()  # stopped by the console already, unless it failed first
