"""The sandbox's data: companies, connections, authorizations, events, API
keys and idempotent replies, in one SQLite file.

The store knows nothing about HTTP. It is safe to use from several threads
(each thread gets its own SQLite connection) and from several processes on
the same data directory (WAL journal, a busy timeout, and every write in a
`BEGIN IMMEDIATE` transaction so two writers never deadlock on an upgrade).
Invariants live in the schema where they can, e.g. the partial unique index
that allows one CONNECTED or ERROR connection per company and integration.

`SandboxStore` is one object; its methods are grouped by what they act on,
one module each (`companies`, `connections`, `authorizations`, `events`,
`keys`, `idempotency`, `seeding`), over `base.StoreBase`, which holds the
database and what every kind of change shares. The schema is in
`sandbox.schema`, the records and refusals the store hands out in
`sandbox.records`, the SQL its reads share in `sandbox.sql`, and what `seed`
inserts in `sandbox.demo_data`.
"""

from __future__ import annotations

from s2b_tui.sandbox.records import Conflict, Gone, IdempotencyState, NotFound, StoreError
from s2b_tui.sandbox.store.authorizations import AuthorizationsMixin
from s2b_tui.sandbox.store.base import (
    DB_FILE,
    EVENT_RETENTION,
    EVENTS_PAGE_MAX,
    IDEMPOTENCY_ABANDONED_AFTER,
    IDEMPOTENCY_TTL,
    KEY_FILE,
    key_digest,
)
from s2b_tui.sandbox.store.companies import CompaniesMixin
from s2b_tui.sandbox.store.connections import ConnectionsMixin
from s2b_tui.sandbox.store.events import EventsMixin
from s2b_tui.sandbox.store.idempotency import IdempotencyMixin
from s2b_tui.sandbox.store.keys import KeysMixin
from s2b_tui.sandbox.store.seeding import HISTORY_MAX, SEED_CHUNK, SEED_MAX, SeedingMixin

__all__ = [
    "DB_FILE",
    "EVENTS_PAGE_MAX",
    "EVENT_RETENTION",
    "HISTORY_MAX",
    "IDEMPOTENCY_ABANDONED_AFTER",
    "IDEMPOTENCY_TTL",
    "KEY_FILE",
    "SEED_CHUNK",
    "SEED_MAX",
    "Conflict",
    "Gone",
    "IdempotencyState",
    "NotFound",
    "SandboxStore",
    "StoreError",
    "key_digest",
]


class SandboxStore(
    KeysMixin,
    CompaniesMixin,
    ConnectionsMixin,
    AuthorizationsMixin,
    EventsMixin,
    IdempotencyMixin,
    SeedingMixin,
):
    """The sandbox's SQLite database in `data_dir`.

    `clock`, `new_id` and `new_token` are injectable so tests and screenshots
    are deterministic; `clock` must return timezone-aware UTC datetimes.
    """
