"""`s2b-tui sandbox serve`: the sandbox API as a standalone local server."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from s2b_tui.sandbox.common import DEFAULT_LINK_TTL

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0 to 65535 (0 picks a free port)")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `sandbox serve` to an argparse subparsers object."""
    sandbox = subparsers.add_parser(
        "sandbox",
        help="run the local Sync2Books sandbox API",
        description="The local Sync2Books sandbox: a real HTTP implementation of the API.",
    )
    commands = sandbox.add_subparsers(dest="sandbox_command", metavar="{serve}", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the sandbox API until Ctrl-C",
        description=(
            "Serve the sandbox API at http://HOST:PORT/v1 and its Link pages at "
            "http://HOST:PORT/link/…, printing the API key to use with it."
        ),
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; anything else is reachable "
        "from other machines)",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        help="where the sandbox keeps its database and key (default: the console's "
        "sandbox data, $S2B_DATA_DIR/sandbox or the user data dir)",
    )
    serve.add_argument(
        "--link-ttl",
        type=_positive_int,
        default=int(DEFAULT_LINK_TTL.total_seconds()),
        metavar="SECONDS",
        help="how long an authorization link stays valid (default "
        f"{int(DEFAULT_LINK_TTL.total_seconds())})",
    )
    return sandbox


def run(args: argparse.Namespace) -> int:
    """Run the parsed `sandbox` command; returns the exit code."""
    # Imported here: Starlette and uvicorn load only when the sandbox runs.
    from s2b_tui.sandbox.runner import serve

    data_dir = args.data_dir
    if data_dir is None:
        # The same data as the console's embedded sandbox, so both can run at once.
        from s2b_tui.config import default_data_dir

        data_dir = default_data_dir() / "sandbox"
    return serve(
        args.host,
        args.port,
        data_dir.expanduser(),
        timedelta(seconds=args.link_ttl),
    )
