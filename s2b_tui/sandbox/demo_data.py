"""Demo data for `SandboxStore.seed`: plausible small-business names and
descriptions, connections with a realistic mix of statuses, and dates spread
over three years, all drawn from one `random.Random` (so a seed reproduces them).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from s2b_tui.api.models import INTEGRATION_NAMES
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


class SeedTimestamps:
    """Whole-second timestamps in the store's format, from lookup tables:
    strftime per value would be a third of the seeding time."""

    def __init__(self, now: datetime) -> None:
        self.end = int(now.timestamp())
        self.start = self.end - _SEED_SPAN_SECONDS
        self._first_day = self.start // _DAY
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        self._days = [
            (epoch + timedelta(days=day)).strftime("%Y-%m-%dT")
            for day in range(self._first_day, self.end // _DAY + 1)
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


def demo_rows(
    rng: random.Random,
    n: int,
    per_company: int,
    stamps: SeedTimestamps,
    new_id: Callable[[], str],
    new_token: Callable[[], str],
) -> tuple[list[tuple], list[tuple]]:
    """Row tuples for `n` companies (oldest first) and their connections."""
    end, start = stamps.end, stamps.start
    fmt = stamps.format
    rand, choice = rng.random, rng.choice
    companies: list[tuple] = []
    connections: list[tuple] = []
    for _ in range(n):
        company_id = new_id()
        created = start + int(rand() * _SEED_SPAN_SECONDS)
        companies.append(
            (company_id, _demo_name(rng), choice(_DESCRIPTIONS), fmt(created), new_token())
        )
        for key in choice(_INTEGRATION_ORDERS)[:per_company]:
            connected = created + int(rand() * (end - created))
            updated = connected + int(rand() * (end - connected))
            r = rand()
            last_sync = error_code = error_message = error_at = None
            if r < 0.7:
                status = "CONNECTED"
                last_sync = fmt(updated + int(rand() * (end - updated)))
            elif r < 0.85:
                status = "ERROR"
                error_code, error_message = choice(_ERRORS)
                error_message = error_message or default_error_message(key, error_code)
                error_at = fmt(updated)
            else:
                status = "DISCONNECTED"
            connections.append(
                (
                    new_id(),
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
    # Oldest first, so insertion order (seq) follows creation time and the
    # created_at index grows at its end; connections grouped by company for
    # the same reason.
    companies.sort(key=itemgetter(3))
    connections.sort(key=itemgetter(1))
    return companies, connections
