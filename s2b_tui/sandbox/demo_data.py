"""Demo data for `SandboxStore.seed`: plausible small-business names,
descriptions and contact emails, companies in a realistic mix of connection
states with the connections, links and history events that give them that
state, and dates spread over three years, all drawn from one `random.Random`
(so a seed reproduces them).
"""

from __future__ import annotations

import itertools
import random
import re
from bisect import bisect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import NamedTuple

from s2b_tui.api.models import INTEGRATION_NAMES, CompanyState
from s2b_tui.sandbox.ids import new_uuids
from s2b_tui.sandbox.records import DEFAULT_ERROR_CODE, default_error_message

# fmt: off
_SURNAMES = (
    "Hartley", "Okafor", "Lindqvist", "Moreau", "Castillo", "Nakamura", "Brennan", "Adeyemi",
    "Kowalski", "Fitzgerald", "Haddad", "Rossi", "Sullivan", "Petrov", "Chen", "Whitaker",
    "Delgado", "Novak", "Ashworth", "Mensah", "Larsen", "Quinn", "Bianchi", "Thornton",
    "Varga", "Osei", "Holloway", "Singh", "Abernathy", "Kaur", "Dubois", "Marsh",
)
_COLOURS = (
    "Blue", "Red", "Golden", "Silver", "Green", "Copper", "Amber", "Ivory", "Crimson", "Indigo",
    "Willow", "Maple", "Cedar", "Harbor", "Summit", "Northern", "Coastal", "Prairie",
)
_THINGS = (
    "Fern", "Oak", "Anchor", "Lantern", "Sparrow", "Harbour", "Meadow", "Ridge", "Pine",
    "Compass", "Beacon", "Orchard", "Falcon", "Stone", "River", "Kettle", "Thistle", "Bridge",
)
_TRADES = (
    "Plumbing", "Dental", "Bakery", "Electrical", "Landscaping", "Roofing", "Veterinary Clinic",
    "Physiotherapy", "Coffee Roasters", "Florist", "Auto Repair", "Joinery", "Cleaning Services",
    "Catering", "Print Shop", "Brewing Co.", "Pharmacy", "Optometry", "Yoga Studio",
    "Bookkeeping", "Architects", "Hair Salon", "Logistics", "Cycle Works", "Tailoring",
    "Pet Grooming", "Pottery", "Music School", "Hardware", "Interiors",
)
_PLACES = (
    "Riverside", "Hillcrest", "Westbrook", "Eastgate", "Lakeview", "Oakmont", "Brookfield",
    "Fairhaven", "Kingsley", "Ashford", "Millbrook", "Stonebridge", "Harrow", "Elmwood",
)
_SUFFIXES = ("", "", "", " Ltd", " LLC", " Inc.", " & Co.", " Group")
_DESCRIPTIONS = (
    None, None, "Expenses pilot", "Migrating from spreadsheets", "Invoices synced nightly",
    "Two locations, one ledger", "Onboarded at the spring trade show",
    "Referred by their accountant", "Month-end close in progress", "Wants payroll next quarter",
    "Seasonal business: busy in summer", "Multi-currency: GBP and EUR",
    "Asked for a demo of bank feeds",
)
_MAILBOXES = ("accounts", "finance", "office", "billing", "hello", "admin", "bookkeeping")
# fmt: on
_ERRORS = (
    (DEFAULT_ERROR_CODE, None),
    ("ACCESS_REVOKED", "Access was revoked in the accounting software. Reconnect to continue."),
    ("MFA_REQUIRED", "The accounting software asks the owner to sign in again with 2FA."),
    ("RATE_LIMITED", "The accounting software is throttling requests; syncing resumes shortly."),
)
# Every order of the four integrations: a company's first k of a random one
# is a uniform random choice of k distinct integrations (cheaper than sample()).
_INTEGRATION_ORDERS = tuple(itertools.permutations(INTEGRATION_NAMES))
_DAY = 86_400
_SEED_SPAN_SECONDS = 3 * 365 * _DAY  # seeded companies were created over three years


#: The connectionState shares of seeded companies unless told otherwise.
DEFAULT_STATE_MIX = {
    "CONNECTED": 0.70,
    "NOT_CONNECTED": 0.12,
    "DISCONNECTED": 0.07,
    "ERROR": 0.06,
    "PENDING": 0.05,
}


def state_mix(shares: dict[str, float]) -> dict[str, float]:
    """`shares` of some states, the rest of 1 spread over the others as in
    DEFAULT_STATE_MIX. ValueError for unknown states, negative shares or a
    sum over 1."""
    unknown = set(shares) - set(CompanyState)
    if unknown:
        raise ValueError(f"unknown states {sorted(unknown)}")
    if any(not 0 <= share <= 1 for share in shares.values()):
        raise ValueError("each share is 0 to 1")
    given = sum(shares.values())
    if given > 1 + 1e-9:
        raise ValueError("the shares add up to more than 1")
    rest = {s: w for s, w in DEFAULT_STATE_MIX.items() if s not in shares}
    rest_weight = sum(rest.values())
    mix = {str(s): float(w) for s, w in shares.items()}
    if rest_weight > 0:
        mix.update({s: (1 - given) * w / rest_weight for s, w in rest.items()})
    if sum(mix.values()) <= 0:
        raise ValueError("the shares add up to 0")
    return mix


class SeedTimestamps:
    """Whole-second timestamps in the store's format, from lookup tables:
    strftime per value would be a third of the seeding time. They cover the
    seeded span and the month after now (expiry of live links)."""

    def __init__(self, now: datetime) -> None:
        self.end = int(now.timestamp())
        self.start = self.end - _SEED_SPAN_SECONDS
        self._first_day = self.start // _DAY
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        self._days = [
            (epoch + timedelta(days=day)).strftime("%Y-%m-%dT")
            for day in range(self._first_day, self.end // _DAY + 32)
        ]
        self._times = [
            f"{h:02d}:{m:02d}:{s:02d}.000000Z"
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]

    def format(self, second: int) -> str:
        day, time_of_day = divmod(second, _DAY)
        return self._days[day - self._first_day] + self._times[time_of_day]


def _demo_name(rng: random.Random) -> str:
    r = rng.random()
    choice = rng.choice
    if r < 0.25:
        return f"{choice(_SURNAMES)} & Sons {choice(_TRADES)}"
    if r < 0.5:
        return f"{choice(_COLOURS)} {choice(_THINGS)} {choice(_TRADES)}{choice(_SUFFIXES)}"
    if r < 0.7:
        return f"{choice(_PLACES)} {choice(_TRADES)}{choice(_SUFFIXES)}"
    if r < 0.85:
        return f"{choice(_SURNAMES)} & {choice(_SURNAMES)} {choice(_TRADES)}"
    return f"{choice(_SURNAMES)} {choice(_TRADES)}{choice(_SUFFIXES)}"


def _demo_email(rng: random.Random, name: str) -> str | None:
    """A contact address for most companies, on a reserved domain (.example)."""
    if rng.random() < 0.2:
        return None
    words = [w for w in re.split(r"[^a-z]+", name.lower()) if w and w not in ("co", "sons")]
    domain = "-".join(words[:2]) or "company"
    return f"{rng.choice(_MAILBOXES)}@{domain}.example"


class DemoRows(NamedTuple):
    companies: list[tuple]
    connections: list[tuple]
    authorizations: list[tuple]
    events: list[tuple]
    state_counts: dict[str, int]


def _state_of(statuses: dict[str, str], pending: int) -> str:
    """API.md's connectionState rules over a company's rows."""
    values = statuses.values()
    if "ERROR" in values:
        return "ERROR"
    if "CONNECTED" in values:
        return "CONNECTED"
    if pending:
        return "PENDING"
    return "DISCONNECTED" if statuses else "NOT_CONNECTED"


def demo_rows(
    rng: random.Random,
    n: int,
    per_company: int,
    mix: dict[str, float] | None,
    stamps: SeedTimestamps,
    recorded: str,
    new_id: Callable[[], str],
    new_token: Callable[[], str],
) -> DemoRows:
    """Rows for `n` companies (oldest first): each with its connections,
    links and the events of its history, and its state as those give it.
    Without `mix`, every company gets `per_company` connections whose
    statuses are drawn one by one."""
    end, start = stamps.end, stamps.start
    fmt = stamps.format
    rand, choice = rng.random, rng.choice
    week = 7 * _DAY
    if mix is not None:
        states, weights = list(mix), list(itertools.accumulate(mix.values()))
        total_weight = weights[-1]
    companies: list[tuple] = []
    connections: list[tuple] = []
    authorizations: list[tuple] = []
    events: list[tuple] = []
    counts: dict[str, int] = dict.fromkeys(CompanyState, 0)
    for _ in range(n):
        company_id = new_id()
        name = _demo_name(rng)
        created = start + int(rand() * _SEED_SPAN_SECONDS)
        # The company's history: (second, kind, subject, status, event fields).
        history: list[tuple] = [(created, "company", None, None, ("company.created", "API"))]
        target = None if mix is None else states[bisect(weights, rand() * total_weight)]
        if target is None:
            statuses = [_draw_status(rand) for _ in range(per_company)]
        elif target in ("ERROR", "CONNECTED", "DISCONNECTED"):
            statuses = [target] + [
                choice(("CONNECTED", "DISCONNECTED")) if target != "DISCONNECTED" else target
                for _ in range(per_company - 1)
            ]
        elif target == "PENDING" and rand() < 0.5:
            statuses = ["DISCONNECTED"] * per_company
        else:
            statuses = []
        keys = choice(_INTEGRATION_ORDERS)
        last_connection: tuple[str, str] | None = None
        connection_id: str | None
        for key, status in zip(keys, statuses, strict=False):
            connection_id = new_id()
            connected = created + 1 + int(rand() * (end - created - 1))
            updated = connected + int(rand() * (end - connected))
            last_sync = error_code = error_message = error_at = None
            history.append(
                (
                    connected,
                    "connection",
                    connection_id,
                    "CONNECTED",
                    ("connection.connected", "CUSTOMER", key, None, "CONNECTED"),
                )
            )
            if status == "CONNECTED":
                last_sync = fmt(updated + int(rand() * (end - updated)))
            elif status == "ERROR":
                error_code, error_message = choice(_ERRORS)
                error_message = error_message or default_error_message(key, error_code)
                error_at = fmt(updated)
                history.append(
                    (
                        updated,
                        "connection",
                        connection_id,
                        "ERROR",
                        (
                            "connection.failed",
                            "PLATFORM",
                            key,
                            "CONNECTED",
                            "ERROR",
                            f"{error_code}: {error_message}",
                        ),
                    )
                )
            else:
                history.append(
                    (
                        updated,
                        "connection",
                        connection_id,
                        "DISCONNECTED",
                        ("connection.disconnected", "API", key, "CONNECTED", "DISCONNECTED"),
                    )
                )
            last_connection = (connection_id, key)
            connections.append(
                (
                    connection_id,
                    company_id,
                    key,
                    status,
                    fmt(connected),
                    fmt(updated),
                    last_sync,
                    error_code,
                    error_message,
                    error_at,
                )
            )
        link = None
        if target == "PENDING":
            link = ("PENDING", max(created + 1, end - int(rand() * 6 * _DAY)))
        elif target == "NOT_CONNECTED" and created < end - week - 1 and rand() < 0.35:
            sent = created + 1 + int(rand() * max(1, end - created - week - 1))
            link = ("EXPIRED" if rand() < 0.7 else "DECLINED", min(sent, end - week))
        if link is not None:
            status, sent = link
            authorization_id = new_id()
            # A reconnect link names the connection it reconnects.
            connection_id = None
            key = keys[-1]
            if last_connection is not None:
                connection_id, key = last_connection
            expires = sent + week
            used = None
            history.append(
                (
                    sent,
                    "link+",
                    authorization_id,
                    None,
                    ("authorization.created", "API", key, None, "PENDING"),
                )
            )
            if status == "EXPIRED":
                history.append(
                    (
                        expires,
                        "link-",
                        authorization_id,
                        None,
                        ("authorization.expired", "PLATFORM", key, "PENDING", "EXPIRED"),
                    )
                )
            elif status == "DECLINED":
                declined = sent + int(rand() * week)
                used = fmt(declined)
                history.append(
                    (
                        declined,
                        "link-",
                        authorization_id,
                        None,
                        ("authorization.declined", "CUSTOMER", key, "PENDING", "DECLINED"),
                    )
                )
            authorizations.append(
                (
                    authorization_id,
                    company_id,
                    key,
                    connection_id,
                    status,
                    new_token(),
                    fmt(sent),
                    fmt(expires),
                    used,
                )
            )
        # Replay the history in time order: the state and when it last changed.
        history.sort(key=itemgetter(0))
        current: dict[str, str] = {}
        pending = 0
        state, changed = "NOT_CONNECTED", created
        for second, kind, subject, status, fields in history:
            if kind == "connection":
                current[subject] = status
            elif kind == "link+":
                pending += 1
            elif kind == "link-":
                pending -= 1
            now_state = _state_of(current, pending)
            if now_state != state:
                state, changed = now_state, second
            event_type, actor, *rest = fields
            key, from_status, to_status, detail = (*rest, None, None, None, None)[:4]
            events.append(
                (
                    event_type,
                    fmt(second),
                    recorded,
                    actor,
                    company_id,
                    name,
                    subject if kind == "connection" else None,
                    subject if kind.startswith("link") else None,
                    key,
                    from_status,
                    to_status,
                    detail,
                )
            )
        counts[state] += 1
        companies.append(
            (
                company_id,
                name,
                choice(_DESCRIPTIONS),
                fmt(created),
                new_token(),
                _demo_email(rng, name),
                state,
                fmt(changed),
            )
        )
    # Oldest first, so insertion order (seq) follows creation time and the
    # created_at index grows at its end; connections grouped by company for
    # the same reason; events in the order things happened.
    companies.sort(key=itemgetter(3))
    connections.sort(key=itemgetter(1))
    events.sort(key=itemgetter(1))
    ids = new_uuids(len(events))
    numbered = [(event_id, *event) for event_id, event in zip(ids, events, strict=True)]
    return DemoRows(companies, connections, authorizations, numbered, counts)


def _draw_status(rand: Callable[[], float]) -> str:
    r = rand()
    return "CONNECTED" if r < 0.7 else "ERROR" if r < 0.85 else "DISCONNECTED"
