"""`s2b-tui`: the console; `s2b-tui sandbox serve`: a standalone sandbox API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from s2b_tui import __version__
from s2b_tui.api.errors import InvalidApiKeyError
from s2b_tui.config import DEFAULT_REFRESH_SECONDS, Settings, SettingsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2b-tui",
        description=(
            "Sync2Books onboarding console. With no S2B_API_KEY it starts an embedded "
            "sandbox; with S2B_API_KEY (and S2B_BASE_URL) it talks to that API. "
            "The key is read only from the environment, never from a flag."
        ),
    )
    parser.add_argument("--version", action="version", version=f"s2b-tui {__version__}")
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
        default=DEFAULT_REFRESH_SECONDS,
        metavar="SECONDS",
        help=f"live table refresh interval (default {DEFAULT_REFRESH_SECONDS:g})",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="never change anything: no create, unlink or delete",
    )
    commands = parser.add_subparsers(dest="command", metavar="{sandbox}")
    from s2b_tui.sandbox.cli import add_parser as add_sandbox_parser

    add_sandbox_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        from s2b_tui.sandbox.cli import run as run_sandbox

        return run_sandbox(args)
    try:
        settings = Settings.resolve(
            base_url=args.base_url,
            use_sandbox=args.sandbox,
            data_dir=args.data_dir,
            refresh_seconds=args.refresh,
            read_only=args.read_only,
        )
        from s2b_tui.app import make_app

        app = make_app(settings)
    except (SettingsError, InvalidApiKeyError, ValueError) as exc:
        print(f"s2b-tui: {exc}", file=sys.stderr)
        return 2
    app.run()
    return app.return_code or 0
