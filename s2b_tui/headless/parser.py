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

#: A company's connectionState values (API.md, portfolio revision), in the API's order.
COMPANY_STATES = ("ERROR", "CONNECTED", "PENDING", "DISCONNECTED", "NOT_CONNECTED")
#: The event types of API.md; `--type` also takes a group (`connection`: all of its types).
EVENT_TYPES = (
    "company.created",
    "company.updated",
    "company.deleted",
    "authorization.created",
    "authorization.completed",
    "authorization.declined",
    "authorization.expired",
    "authorization.cancelled",
    "connection.connected",
    "connection.reconnected",
    "connection.recovered",
    "connection.disconnected",
    "connection.failed",
    "connection.deleted",
)
EVENT_GROUPS = ("company", "authorization", "connection")
#: A link's lifetime (`expiresInMinutes`): 5 minutes to 30 days.
MIN_EXPIRY_MINUTES, MAX_EXPIRY_MINUTES = 5, 43_200
_DURATION = re.compile(r"(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)", re.IGNORECASE)
_MINUTES = {"m": 1, "h": 60, "d": 1_440, "w": 10_080}


def integration_key(text: str) -> str:
    """`xero`, `Xero`, `quickbooks-desktop` → the API's key."""
    key = re.sub(r"[\s-]+", "_", text.strip()).upper()
    if _INTEGRATION.fullmatch(key) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integration key (e.g. {', '.join(INTEGRATION_KEYS)})"
        )
    return key


def _comma_values(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def state_list(text: str) -> list[str]:
    """`error,disconnected` → `["ERROR", "DISCONNECTED"]`; an unknown state is
    refused naming the valid ones (checked here, before any request)."""
    states = []
    for part in _comma_values(text):
        state = re.sub(r"[\s-]+", "_", part).upper()
        if state not in COMPANY_STATES:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a connection state; the states are {', '.join(COMPANY_STATES)}"
            )
        states.append(state)
    if not states:
        raise argparse.ArgumentTypeError(f"name one or more of {', '.join(COMPANY_STATES)}")
    return states


def event_type_list(text: str) -> list[str]:
    """`connection.failed,authorization` → those types (a group: all of its
    types); an unknown one is refused naming the valid ones."""
    types: list[str] = []
    for part in _comma_values(text):
        kind = part.lower()
        if kind in EVENT_GROUPS:
            types.extend(t for t in EVENT_TYPES if t.startswith(kind + "."))
        elif kind in EVENT_TYPES:
            types.append(kind)
        else:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not an event type; the types are {', '.join(EVENT_TYPES)} "
                f"(or a group: {', '.join(EVENT_GROUPS)})"
            )
    if not types:
        raise argparse.ArgumentTypeError("name one or more event types")
    return list(dict.fromkeys(types))


def duration_minutes(text: str) -> int:
    """A link's lifetime: `30m`, `12h`, `7d`, `2w` → minutes, 5 min to 30 days."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: a number and a unit, e.g. 30m, 12h, 7d"
        )
    minutes = int(match.group(1)) * _MINUTES[match.group(2)[0].lower()]
    if not MIN_EXPIRY_MINUTES <= minutes <= MAX_EXPIRY_MINUTES:
        raise argparse.ArgumentTypeError(
            f"{text} is {minutes:,} minutes; a link lives 5 minutes to 30 days (30d)"
        )
    return minutes


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


def _sequence(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an event sequence number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
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


def _expires_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expires-in",
        type=duration_minutes,
        metavar="DURATION",
        help="how long the link lives: 30m, 12h, 7d… (5m to 30d; default: the API's, 7d)",
    )


def _state_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state",
        type=state_list,
        action="extend",
        metavar="STATE[,STATE…]",
        help=f"only companies in these connection states ({', '.join(COMPANY_STATES)})",
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
        dest="companies_command", metavar="{list,show,create,edit,delete}", required=True
    )
    listing = _command(
        commands,
        "list",
        "companies:list_companies",
        "list companies (the first page, or --all)",
        parents=[where, list_out],
    )
    listing.add_argument("--query", "-q", help="only names containing this (or an exact id)")
    _state_option(listing)
    listing.add_argument("--all", action="store_true", help="every matching company")
    listing.add_argument("--page", type=_positive_int, default=1)
    listing.add_argument("--page-size", type=_page_size, default=50)
    listing.add_argument(
        "--order-by",
        choices=("name", "-name", "createdAt", "-createdAt", "stateChangedAt", "-stateChangedAt"),
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
    create.add_argument("--contact-email", help="the customer's address for links")
    create.add_argument(
        "--idempotency-key",
        help="retrying with the same key never makes a second company (24 h)",
    )
    edit = _command(
        commands,
        "edit",
        "companies:edit_company",
        "change a company's name, description or contact email",
        parents=[where, json_out],
    )
    edit.add_argument("company", help="the company's id (or its exact, unique name)")
    edit.add_argument("--name", dest="new_name", metavar="NAME", help="its new name")
    description = edit.add_mutually_exclusive_group()
    description.add_argument("--description", "-d", help="a new internal note")
    description.add_argument(
        "--clear-description", action="store_true", help="remove the description"
    )
    email = edit.add_mutually_exclusive_group()
    email.add_argument("--contact-email", help="a new contact email")
    email.add_argument(
        "--clear-contact-email", action="store_true", help="remove the contact email"
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
    _expires_option(connect)
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
    _expires_option(reauthorize)
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
    _state_option(export)
    export.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="jsonl",
        help="one JSON object per line instead of CSV",
    )
    return export


def _links(make: Make) -> argparse.ArgumentParser:
    where = _target_options()
    links = make()
    commands = links.add_subparsers(dest="links_command", metavar="{list,cancel}", required=True)
    listing = _command(
        commands,
        "list",
        "links:list_links",
        "list the links made for customers (authorizations), newest first",
        parents=[where, _list_options()],
    )
    listing.add_argument(
        "--pending", action="store_true", help="only links sent and not used yet (PENDING)"
    )
    listing.add_argument("--company", help="only this company's (its id, or exact unique name)")
    cancel = _command(
        commands,
        "cancel",
        "links:cancel_link",
        "cancel a pending link: it stops working at once",
        parents=[where, _json_option()],
    )
    cancel.add_argument(
        "refs",
        nargs="+",
        metavar="COMPANY LINK",
        help=(
            "the company and the link (its id, or its integration: XERO…), or the "
            "link's id (or its first 8+ characters, or its URL) alone"
        ),
    )
    return links


def _events(make: Make) -> argparse.ArgumentParser:
    events = make(
        handler="events:events",
        parents=[_target_options()],
        description=(
            "Print the changes to companies, connections and links (the events feed): "
            "one line each, oldest first. --follow prints them as they happen, until "
            "Ctrl-C, waiting out an API that goes away."
        ),
    )
    events.set_defaults(quiet_interrupt=True)
    events.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new events as they happen"
    )
    events.add_argument(
        "--type",
        dest="types",
        type=event_type_list,
        action="extend",
        metavar="TYPE[,TYPE…]",
        help="only these types (connection.failed…) or groups (company, authorization, connection)",
    )
    events.add_argument("--company", help="only this company's (its id, or exact unique name)")
    events.add_argument(
        "--after",
        type=_sequence,
        metavar="SEQUENCE",
        help="the events after this sequence number (default: the latest few; with "
        "--follow, only new ones)",
    )
    events.add_argument(
        "--limit",
        type=_page_size,
        default=20,
        help="without --after or --follow: how many of the latest events (default 20)",
    )
    events.add_argument(
        "--interval",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="with --follow: how often to ask for new events (default 2)",
    )
    events.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="jsonl",
        help="one JSON object per line",
    )
    return events


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
    "links": _links,
    "events": _events,
    "completion": _completion,
}
