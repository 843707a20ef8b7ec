"""The headless commands' argument parsers, each built only when its command
is run (`s2b_tui.headless.add_commands`): the console's start-up never loads
this module. Each command names its handler as "module:function", loaded only
when it runs. Shell completion is generated from these same parsers
(`completion.py`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

#: The four integrations of API.md, offered by completion; any other key is
#: passed on for the API to judge.
INTEGRATION_KEYS = ("QUICKBOOKS", "QUICKBOOKS_DESKTOP", "XERO", "SAGE")
_INTEGRATION = re.compile(r"[A-Z][A-Z0-9_]{0,49}")

S = argparse.SUPPRESS


def integration_key(text: str) -> str:
    """`xero`, `Xero`, `quickbooks-desktop` → the API's key."""
    key = re.sub(r"[\s-]+", "_", text.strip()).upper()
    if _INTEGRATION.fullmatch(key) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integration key (e.g. {', '.join(INTEGRATION_KEYS)})"
        )
    return key


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _page_size(text: str) -> int:
    value = _positive_int(text)
    if value > 500:
        raise argparse.ArgumentTypeError("must be at most 500")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _target_options() -> argparse.ArgumentParser:
    """Where a command points: the console's own options, also accepted after
    the command (`s2b-tui companies list --profile qa`). SUPPRESS keeps a
    value given before the command when none is given after it."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("where")
    group.add_argument("--profile", default=S, help="the profile to use (default: $S2B_PROFILE)")
    group.add_argument("--base-url", default=S, help="the API's base URL")
    group.add_argument("--sandbox", action="store_true", default=S, help="use the embedded sandbox")
    group.add_argument("--data-dir", type=Path, default=S, help="the embedded sandbox's data")
    group.add_argument(
        "--read-only",
        action=argparse.BooleanOptionalAction,
        default=S,
        help="never change anything (default: the profile's setting)",
    )
    return parent


def _json_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--json", dest="format", action="store_const", const="json", help="print JSON"
    )
    return parent


def _list_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    formats = parent.add_mutually_exclusive_group()
    formats.add_argument(
        "--json", dest="format", action="store_const", const="json", help="print a JSON array"
    )
    formats.add_argument(
        "--csv", dest="format", action="store_const", const="csv", help="print CSV"
    )
    return parent


Make = Callable[..., argparse.ArgumentParser]


def _command(parent, name: str, handler: str, help: str, parents=(), **kwargs):
    """A subcommand of a command (`companies list`)."""
    parser = parent.add_parser(
        name, help=help, description=kwargs.pop("description", help), parents=list(parents)
    )
    parser.set_defaults(handler=handler, format=None, **kwargs)
    return parser


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        action="store_true",
        help="wait for the customer: exit 0 once connected, 1 if declined or expired",
    )
    parser.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="stop waiting after this long"
    )


def _login(make: Make) -> argparse.ArgumentParser:
    login = make(
        handler="auth:login",
        description=(
            "Ask for an API key (hidden input), check it against the API and store it in "
            "the system keyring (or, where there is none, a file only you can read). "
            "The key is never taken from a flag."
        ),
    )
    login.add_argument("--profile", default=S, help="the profile's name (default: 'default')")
    login.add_argument("--base-url", default=S, help="the API's base URL")
    login.add_argument(
        "--with-key", action="store_true", help="read the key from stdin instead of asking"
    )
    login.add_argument(
        "--read-only",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="make the profile read-only (a LIVE one, say) until changed",
    )
    login.add_argument("--default", action="store_true", help="make it the default profile")
    return login


def _logout(make: Make) -> argparse.ArgumentParser:
    logout = make(handler="auth:logout")
    logout.add_argument("--profile", default=S, help="the profile (default: the default one)")
    logout.add_argument(
        "--forget", action="store_true", help="remove the profile's settings as well"
    )
    return logout


def _profiles(make: Make) -> argparse.ArgumentParser:
    json_out = _json_option()
    profiles = make(handler="auth:profiles_list", parents=[json_out])
    commands = profiles.add_subparsers(dest="profiles_command", metavar="{list,use,set}")
    _command(commands, "list", "auth:profiles_list", "list profiles", parents=[json_out])
    use = _command(commands, "use", "auth:profiles_use", "make a profile the default")
    use.add_argument("name", help="the profile (or 'none': no default)")
    change = _command(commands, "set", "auth:profiles_set", "change a profile's settings")
    change.add_argument("name", help="the profile")
    change.add_argument("--read-only", action=argparse.BooleanOptionalAction, default=None)
    change.add_argument("--refresh", type=_seconds, metavar="SECONDS")
    change.add_argument("--theme", help="the console's theme")
    change.add_argument(
        "--link-message",
        metavar="TEMPLATE",
        help="the message sent with a link: {company}, {link}, {integration}",
    )
    return profiles


def _status(make: Make) -> argparse.ArgumentParser:
    status = make(handler="auth:status", parents=[_target_options(), _json_option()])
    status.add_argument(
        "--check", action="store_true", help="also ask the API whether the key works"
    )
    return status


def _companies(make: Make) -> argparse.ArgumentParser:
    where, json_out, list_out = _target_options(), _json_option(), _list_options()
    companies = make()
    commands = companies.add_subparsers(
        dest="companies_command", metavar="{list,show,create,delete}", required=True
    )
    listing = _command(
        commands,
        "list",
        "companies:list_companies",
        "list companies (the first page, or --all)",
        parents=[where, list_out],
    )
    listing.add_argument("--query", "-q", help="only names containing this (or an exact id)")
    listing.add_argument("--all", action="store_true", help="every matching company")
    listing.add_argument("--page", type=_positive_int, default=1)
    listing.add_argument("--page-size", type=_page_size, default=50)
    listing.add_argument(
        "--order-by",
        choices=("name", "-name", "createdAt", "-createdAt"),
        default=None,
        help="sort order (default: newest first)",
    )
    _command(
        commands,
        "show",
        "companies:show_company",
        "show a company and its connections",
        parents=[where, json_out],
    ).add_argument("company", help="the company's id (or its exact, unique name)")
    create = _command(
        commands,
        "create",
        "companies:create_company",
        "create a company; prints its id and company link",
        parents=[where, json_out],
    )
    create.add_argument("name")
    create.add_argument("--description", "-d", help="an internal note (never shown to them)")
    create.add_argument(
        "--idempotency-key",
        help="retrying with the same key never makes a second company (24 h)",
    )
    delete = _command(
        commands,
        "delete",
        "companies:delete_company",
        "delete a company with its connections",
        parents=[where, json_out],
    )
    delete.add_argument("company", help="the company's id (or its exact, unique name)")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask")
    return companies


def _connections(make: Make) -> argparse.ArgumentParser:
    connections = make()
    commands = connections.add_subparsers(
        dest="connections_command", metavar="{list}", required=True
    )
    _command(
        commands,
        "list",
        "connections:list_connections",
        "list a company's connections",
        parents=[_target_options(), _list_options()],
    ).add_argument("company", help="the company's id (or its exact, unique name)")
    return connections


def _connect(make: Make) -> argparse.ArgumentParser:
    connect = make(handler="connections:connect", parents=[_target_options(), _json_option()])
    connect.add_argument("company", help="the company's id (or its exact, unique name)")
    connect.add_argument(
        "integration", type=integration_key, help=f"one of {', '.join(INTEGRATION_KEYS)}"
    )
    _wait_options(connect)
    return connect


def _unlink(make: Make) -> argparse.ArgumentParser:
    unlink = make(handler="connections:unlink", parents=[_target_options(), _json_option()])
    unlink.add_argument("company", help="the company's id (or its exact, unique name)")
    unlink.add_argument("connection", help="the connection's id, or its integration (XERO…)")
    unlink.add_argument("--yes", "-y", action="store_true", help="do not ask")
    return unlink


def _reauthorize(make: Make) -> argparse.ArgumentParser:
    reauthorize = make(
        handler="connections:reauthorize", parents=[_target_options(), _json_option()]
    )
    reauthorize.add_argument("company", help="the company's id (or its exact, unique name)")
    reauthorize.add_argument("connection", help="the connection's id, or its integration")
    _wait_options(reauthorize)
    return reauthorize


def _import(make: Make) -> argparse.ArgumentParser:
    importing = make(
        handler="importer:import_companies",
        parents=[_target_options()],
        description=(
            "Create a company for each row of a CSV file (columns by header, any case: "
            "name, description, contact email), optionally with a link per row. Running "
            "the same file again never makes a twin. Prints a result CSV (row, name, "
            "contact email, company id, link, outcome, detail) on stdout or to --output."
        ),
    )
    importing.add_argument("file", type=Path, help="the CSV file ('-' for stdin)")
    importing.add_argument(
        "--connect",
        type=integration_key,
        metavar="INTEGRATION",
        help="also start connecting this integration for each company",
    )
    importing.add_argument("--dry-run", action="store_true", help="check every row; call no API")
    importing.add_argument("--output", "-o", type=Path, help="write the result CSV here")
    importing.add_argument(
        "--concurrency",
        type=_positive_int,
        default=8,
        help="requests in flight at once (default 8, at most 32)",
    )
    return importing


def _export(make: Make) -> argparse.ArgumentParser:
    export = make(handler="companies:export_companies", parents=[_target_options()])
    export.add_argument("--query", "-q", help="only names containing this (or an exact id)")
    export.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="jsonl",
        help="one JSON object per line instead of CSV",
    )
    return export


def _completion(make: Make) -> argparse.ArgumentParser:
    completion = make(
        handler="completion:print_script",
        description=(
            "Print a completion script. bash: `source <(s2b-tui completion bash)` in "
            "~/.bashrc. zsh: `source <(s2b-tui completion zsh)` in ~/.zshrc (after compinit)."
        ),
    )
    completion.add_argument("shell", choices=("bash", "zsh"))
    return completion


#: Each command's parser, built when it is used (see `s2b_tui.headless.add_commands`).
BUILDERS: dict[str, Callable[[Make], argparse.ArgumentParser]] = {
    "login": _login,
    "logout": _logout,
    "profiles": _profiles,
    "status": _status,
    "companies": _companies,
    "connections": _connections,
    "connect": _connect,
    "unlink": _unlink,
    "reauthorize": _reauthorize,
    "import": _import,
    "export": _export,
    "completion": _completion,
}
