"""The sandbox's data: companies, connections, authorizations, API keys and
idempotent replies, in one SQLite file.

The store knows nothing about HTTP. It is safe to use from several threads
(each thread gets its own SQLite connection) and from several processes on
the same data directory (WAL journal, a busy timeout, and every write in a
`BEGIN IMMEDIATE` transaction so two writers never deadlock on an upgrade).
Invariants live in the schema where they can, e.g. the partial unique index
that allows one CONNECTED or ERROR connection per company and integration.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import secrets
import sqlite3
import string
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path

from s2b_tui.api.keys import KEY_PATTERN
from s2b_tui.api.models import (
    INTEGRATION_NAMES,
    Actor,
    AuthorizationStatus,
    CompanyState,
    ConnectionStatus,
    EventType,
)
from s2b_tui.sandbox.common import DEFAULT_LINK_TTL
from s2b_tui.sandbox.demo_data import SeedTimestamps, demo_rows, state_mix
from s2b_tui.sandbox.ids import new_link_token, new_uuid
from s2b_tui.sandbox.sql import (
    AUTHORIZATION_COLUMNS,
    AUTHORIZATION_JOINED,
    COMPANY_COLUMNS,
    CONNECTION_COLUMNS,
    COUNT_CAP,
    EVENT_COLUMNS,
    ORDER_BY,
    STATE_OF_COMPANY,
    casefold,
    company_filter,
    company_row,
    connection_row,
    dt,
    event_conditions,
    event_row,
    last_sequence,
    platform_name,
    ts,
    where_clause,
)
from s2b_tui.sandbox.records import (
    DEFAULT_ERROR_CODE,
    AuthorizationRecord,
    CompanyPage,
    CompanyRecord,
    Conflict,
    ConnectionRecord,
    EventFeed,
    EventRecord,
    Gone,
    IdempotencyOutcome,
    IdempotencyState,
    LinkTarget,
    NotFound,
    default_error_message,
)
from s2b_tui.sandbox.schema import MIGRATE_1_TO_2, SCHEMA, SCHEMA_VERSION, split_sql

DB_FILE = "sandbox.db"
KEY_FILE = "api-key"
#: How long a stored idempotent reply is kept (API.md, Idempotency).
IDEMPOTENCY_TTL = timedelta(hours=24)
#: An in-flight idempotency row older than this belongs to a request whose
#: process died; a retry may take it over instead of getting 409 forever.
IDEMPOTENCY_ABANDONED_AFTER = timedelta(minutes=10)
SEED_MAX = 1_000_000
#: Most DISCONNECTED connections `seed_connection_history` adds at once.
HISTORY_MAX = 10_000
#: Companies per seed transaction: bounds memory and how long other writers wait.
SEED_CHUNK = 50_000
#: Events are kept at least this long (API.md: 30 days); older ones are pruned.
EVENT_RETENTION = timedelta(days=31)
EVENTS_PAGE_MAX = 500

_MICROSECOND = timedelta(microseconds=1)
_BUSY_TIMEOUT_MS = 5000
#: How long a read waits to record expired links before leaving it to later.
_SWEEP_BUSY_MS = 20
_CACHE_KIB = 64 * 1024
_SEED_CACHE_KIB = 1024 * 1024
_KEY_ALPHABET = string.ascii_letters + string.digits

ACTIVE_STATUSES = (ConnectionStatus.CONNECTED, ConnectionStatus.ERROR)


# --------------------------------------------------------------- helpers


def _utc_now() -> datetime:
    return datetime.now(UTC)


def key_digest(raw_key: str) -> str:
    """SHA-256 of an API key: what the store keeps instead of the key."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


# ----------------------------------------------------------------- store


class SandboxStore:
    """The sandbox's SQLite database in `data_dir`.

    `clock`, `new_id` and `new_token` are injectable so tests and screenshots
    are deterministic; `clock` must return timezone-aware UTC datetimes.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        clock: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
        new_token: Callable[[], str] | None = None,
        link_ttl: timedelta = DEFAULT_LINK_TTL,
    ) -> None:
        if link_ttl <= timedelta(0):
            raise ValueError("link_ttl must be positive")
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / DB_FILE
        self.key_path = self.data_dir / KEY_FILE
        self.link_ttl = link_ttl
        self._clock = clock or _utc_now
        self._new_id = new_id or new_uuid
        self._new_token = new_token or new_link_token
        self._local = threading.local()
        self._all_connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False

        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._migrate()
        self._api_key = self._ensure_api_key()

    # ------------------------------------------------------- connections

    def _db(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise RuntimeError("the sandbox store is closed")
            # Autocommit mode: transactions are explicit (see _write).
            db = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA foreign_keys = ON")
            # WAL with synchronous=NORMAL survives a process crash; a sandbox
            # does not need to survive a power cut on top of that.
            db.execute("PRAGMA synchronous = NORMAL")
            # The default 2 MiB cache thrashes on random-uuid index inserts at 100k rows.
            db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            # Unicode case folding, for exact-name matches that ignore case.
            db.create_function("casefold", 1, casefold, deterministic=True)
            self._local.db = db
            with self._connections_lock:
                self._all_connections.append(db)
        return db

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction. IMMEDIATE takes the write lock up front, so
        two processes queue on the busy timeout instead of deadlocking."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries see one snapshot."""
        db = self._db()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection. Idempotent."""
        self._closed = True
        with self._connections_lock:
            connections, self._all_connections = self._all_connections, []
        for db in connections:
            db.close()
        self._local = threading.local()

    def _migrate(self) -> None:
        db = self._db()
        # Persistent setting of the file; must run outside a transaction.
        db.execute("PRAGMA journal_mode = WAL")
        with self._write() as db:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version == SCHEMA_VERSION:
                self._prune_events(db)
                return
            if version not in (0, 1):
                raise RuntimeError(
                    f"{self.db_path} has schema version {version}; this sandbox "
                    f"understands version {SCHEMA_VERSION}. Use another data directory."
                )
            # executescript() would commit the open transaction: run statements singly.
            for statement in split_sql(SCHEMA if version == 0 else MIGRATE_1_TO_2):
                db.execute(statement)
            if version == 1:
                now = ts(self._clock())
                # Inside the subqueries, a bare `id` would be the connection's.
                state_of_each = STATE_OF_COMPANY.replace(":company", "companies.id")
                db.execute(f"UPDATE companies SET state = ({state_of_each})", {"now": now})
                db.execute(
                    "UPDATE state_counts SET n = (SELECT count(*) FROM companies "
                    "WHERE companies.state = state_counts.state)"
                )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -------------------------------------------------------------- keys

    @property
    def api_key(self) -> str:
        """The raw key this sandbox hands out (also in `<data_dir>/api-key`)."""
        return self._api_key

    def _ensure_api_key(self) -> str:
        # Under the write lock, so two processes starting on a fresh data
        # directory agree on one key.
        with self._write() as db:
            # A missing or mangled key file gets a fresh key.
            with contextlib.suppress(FileNotFoundError, ValueError):
                raw = self.key_path.read_text(encoding="ascii").strip()
                row = db.execute(
                    "SELECT revoked_at FROM api_keys WHERE key_hash = ?", (key_digest(raw),)
                ).fetchone()
                if row is not None and row[0] is None:
                    return raw
            raw = self._insert_key(db)
            _write_private_file(self.key_path, raw + "\n")
            return raw

    def _insert_key(self, db: sqlite3.Connection, raw_key: str | None = None) -> str:
        raw = raw_key or "sk_test_" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(32))
        db.execute(
            "INSERT OR IGNORE INTO api_keys (key_hash, created_at) VALUES (?, ?)",
            (key_digest(raw), ts(self._clock())),
        )
        return raw

    def issue_key(self) -> str:
        """Issue another random key (not written to the key file)."""
        with self._write() as db:
            return self._insert_key(db)

    def add_key(self, raw_key: str) -> None:
        """Accept a caller-chosen `sk_test_` key too, e.g. a fixed key for
        reproducible screenshots. A key revoked before stays revoked."""
        match = KEY_PATTERN.fullmatch(raw_key)
        if match is None or match.group(1) != "test":
            raise ValueError("a sandbox key is sk_test_ and at least 16 letters or digits")
        with self._write() as db:
            self._insert_key(db, raw_key)

    def check_key(self, raw_key: str) -> bool:
        """True only for a key this store issued and has not revoked."""
        row = (
            self._db()
            .execute("SELECT revoked_at FROM api_keys WHERE key_hash = ?", (key_digest(raw_key),))
            .fetchone()
        )
        return row is not None and row[0] is None

    def revoke_key(self, raw_key: str) -> bool:
        """Revoke a key; False if this store never issued it or it was revoked."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL",
                (ts(self._clock()), key_digest(raw_key)),
            )
            return cursor.rowcount == 1

    # ------------------------------------------------------ derived state

    def _refresh_state(self, db: sqlite3.Connection, company_id: str, now: datetime) -> str:
        """Recompute a company's connectionState after a change to its rows,
        in the change's transaction; `now` is when the change happened."""
        row = db.execute("SELECT state FROM companies WHERE id = ?", (company_id,)).fetchone()
        if row is None:
            return CompanyState.NOT_CONNECTED
        (state,) = db.execute(STATE_OF_COMPANY, {"company": company_id, "now": ts(now)}).fetchone()
        if state != row[0]:
            db.execute(
                "UPDATE companies SET state = ?, state_changed_at = ? WHERE id = ?",
                (state, ts(now), company_id),
            )
            db.execute("UPDATE state_counts SET n = n - 1 WHERE state = ?", (row[0],))
            db.execute("UPDATE state_counts SET n = n + 1 WHERE state = ?", (state,))
        return state

    def _record(
        self,
        db: sqlite3.Connection,
        type_: EventType,
        actor: Actor,
        company_id: str,
        *,
        company_name: str | None = None,
        connection_id: str | None = None,
        authorization_id: str | None = None,
        integration_key: str | None = None,
        from_status: str | None = None,
        to_status: str | None = None,
        detail: str | None = None,
        occurred_at: datetime | None = None,
    ) -> None:
        """One event, in the transaction of the change it records."""
        if company_name is None:
            row = db.execute("SELECT name FROM companies WHERE id = ?", (company_id,)).fetchone()
            company_name = None if row is None else row[0]
        now = self._clock()
        db.execute(
            "INSERT INTO events (id, type, occurred_at, recorded_at, actor, company_id, "
            "company_name, connection_id, authorization_id, integration_key, from_status, "
            "to_status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                # Not the injectable `new_id`: events do not shift the ids of what they record.
                new_uuid(),
                str(type_),
                ts(occurred_at or now),
                ts(now),
                str(actor),
                company_id,
                company_name,
                connection_id,
                authorization_id,
                None if integration_key is None else str(integration_key),
                None if from_status is None else str(from_status),
                None if to_status is None else str(to_status),
                detail,
            ),
        )

    def _expire_due(self, db: sqlite3.Connection) -> None:
        """Store as EXPIRED every PENDING authorization past its expiry, each
        with its event and its company's new state (as of the expiry)."""
        now = ts(self._clock())
        due = db.execute(
            "SELECT id, company_id, integration_key, connection_id, expires_at "
            "FROM authorizations WHERE status = 'PENDING' AND expires_at <= ? "
            "ORDER BY expires_at, id",
            (now,),
        ).fetchall()
        for authorization_id, company_id, key, connection_id, expires_at in due:
            db.execute(
                "UPDATE authorizations SET status = 'EXPIRED' WHERE id = ?", (authorization_id,)
            )
            expired = datetime.fromisoformat(expires_at)
            self._record(
                db,
                EventType.AUTHORIZATION_EXPIRED,
                Actor.PLATFORM,
                company_id,
                authorization_id=authorization_id,
                connection_id=connection_id,
                integration_key=key,
                from_status=AuthorizationStatus.PENDING,
                to_status=AuthorizationStatus.EXPIRED,
                detail=f"The {platform_name(key)} link expired unused",
                occurred_at=expired,
            )
            self._refresh_state(db, company_id, expired)

    def sweep_expired(self) -> None:
        """Before a read: record links that expired since the last write.

        Costs one index probe when nothing is due. A read never waits long
        for another writer: if the database is busy, the sweep is left to
        the next read or write (reads still report such links as EXPIRED)."""
        db = self._db()
        due = db.execute(
            "SELECT 1 FROM authorizations WHERE status = 'PENDING' AND expires_at <= ? LIMIT 1",
            (ts(self._clock()),),
        ).fetchone()
        if due is None:
            return
        db.execute(f"PRAGMA busy_timeout = {_SWEEP_BUSY_MS}")
        try:
            with self._write() as db:
                self._expire_due(db)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")

    @contextlib.contextmanager
    def _change(self) -> Iterator[sqlite3.Connection]:
        """A write transaction for a change to companies, connections or
        authorizations: links that expired meanwhile are recorded first, so
        events stay in the order things happened."""
        with self._write() as db:
            self._expire_due(db)
            yield db

    def _prune_events(self, db: sqlite3.Connection) -> None:
        """Drop events recorded before the retention period; raise the floor."""
        cutoff = ts(self._clock() - EVENT_RETENTION)
        row = db.execute(
            "SELECT max(sequence) FROM events WHERE sequence <= ("
            "SELECT min(sequence) FROM events) + 100000 AND recorded_at < ?",
            (cutoff,),
        ).fetchone()
        if row is None or row[0] is None:
            return
        db.execute("DELETE FROM events WHERE sequence <= ?", (row[0],))
        db.execute("UPDATE meta SET value = max(value, ?) WHERE name = 'events_floor'", (row[0],))

    # --------------------------------------------------------- companies

    def create_company(
        self, name: str, description: str | None = None, contact_email: str | None = None
    ) -> CompanyRecord:
        """Insert a company; `name`, `description` and `contact_email` must
        already be valid (see s2b_tui.api.validation)."""
        now = self._clock()
        record = CompanyRecord(
            id=self._new_id(),
            name=name,
            description=description,
            created_at=now,
            link_token=self._new_token(),
            contact_email=contact_email,
            state=CompanyState.NOT_CONNECTED,
            state_changed_at=now,
        )
        with self._change() as db:
            cursor = db.execute(
                f"INSERT INTO companies ({COMPANY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    name,
                    description,
                    ts(now),
                    record.link_token,
                    contact_email,
                    str(record.state),
                    ts(now),
                ),
            )
            db.execute(
                "INSERT INTO companies_fts (rowid, name) VALUES (?, ?)", (cursor.lastrowid, name)
            )
            db.execute("UPDATE state_counts SET n = n + 1 WHERE state = 'NOT_CONNECTED'")
            self._record(db, EventType.COMPANY_CREATED, Actor.API, record.id, company_name=name)
        return record

    def update_company(self, company_id: str, changes: dict[str, str | None]) -> CompanyRecord:
        """PATCH: set any of name, description, contact_email (None clears
        the last two); values must already be valid. One event names what changed."""
        unknown = set(changes) - {"name", "description", "contact_email"}
        if unknown or not changes:
            raise ValueError(f"nothing to change, or unknown fields {sorted(unknown)}")
        if "name" in changes and not changes["name"]:
            raise ValueError("name cannot be cleared")
        with self._change() as db:
            row = db.execute(
                "SELECT seq, name, description, contact_email FROM companies WHERE id = ?",
                (company_id,),
            ).fetchone()
            if row is None:
                raise NotFound("Company not found")
            seq, old = (
                row[0],
                dict(zip(("name", "description", "contact_email"), row[1:], strict=True)),
            )
            changed = [field for field, value in changes.items() if old[field] != value]
            if changed:
                assignments = ", ".join(f"{field} = ?" for field in changed)
                db.execute(
                    f"UPDATE companies SET {assignments} WHERE id = ?",
                    (*(changes[field] for field in changed), company_id),
                )
                if "name" in changed:
                    db.execute(
                        "INSERT INTO companies_fts(companies_fts, rowid, name) "
                        "VALUES ('delete', ?, ?)",
                        (seq, old["name"]),
                    )
                    db.execute(
                        "INSERT INTO companies_fts (rowid, name) VALUES (?, ?)",
                        (seq, changes["name"]),
                    )
                wire = {
                    "name": "name",
                    "description": "description",
                    "contact_email": "contactEmail",
                }
                self._record(
                    db,
                    EventType.COMPANY_UPDATED,
                    Actor.API,
                    company_id,
                    detail="Changed " + ", ".join(wire[field] for field in changed),
                )
            return self._company_with_connections(db, company_id)

    def rotate_company_link(self, company_id: str) -> CompanyRecord:
        """A new company link; the old one answers 410 from then on."""
        with self._change() as db:
            self._require_company(db, company_id)
            db.execute(
                "INSERT INTO retired_links (token, company_id, retired_at) "
                "SELECT link_token, id, ? FROM companies WHERE id = ?",
                (ts(self._clock()), company_id),
            )
            db.execute(
                "UPDATE companies SET link_token = ? WHERE id = ?",
                (self._new_token(), company_id),
            )
            self._record(
                db,
                EventType.COMPANY_UPDATED,
                Actor.API,
                company_id,
                detail="Company link rotated: the old link no longer opens",
            )
            return self._company_with_connections(db, company_id)

    def get_company(self, company_id: str) -> CompanyRecord:
        self.sweep_expired()
        with self._read() as db:
            return self._company_with_connections(db, company_id)

    def _company_with_connections(self, db: sqlite3.Connection, company_id: str) -> CompanyRecord:
        row = db.execute(
            f"SELECT {COMPANY_COLUMNS} FROM companies WHERE id = ?", (company_id,)
        ).fetchone()
        if row is None:
            raise NotFound("Company not found")
        connections = tuple(
            connection_row(r)
            for r in db.execute(
                f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE company_id = ? "
                "ORDER BY created_at, id",
                (company_id,),
            )
        )
        return company_row(row, connections)

    def list_companies(
        self,
        *,
        page: int = 1,
        page_size: int = 50,
        query: str | None = None,
        order_by: str = "-createdAt",
    ) -> tuple[list[CompanyRecord], int]:
        """One page of companies, each with its connections, and the total
        (exact: see `company_page` for filters and lower-bound counts)."""
        result = self.company_page(
            page=page, page_size=page_size, query=query, order_by=order_by, count_cap=None
        )
        return result.records, result.total

    def company_page(
        self,
        *,
        page: int = 1,
        page_size: int = 50,
        query: str | None = None,
        order_by: str = "-createdAt",
        states: Sequence[str] = (),
        name: str | None = None,
        count_cap: int | None = COUNT_CAP,
    ) -> CompanyPage:
        """One page of companies, each with its connections, and the total.

        `query` matches a case-insensitive substring of the name, an exact
        id, or an id prefix of 8+ hex digits; `states` keeps only those
        connectionStates; `name` keeps exact names (case and surrounding
        spaces ignored). With a `query`, counting stops past `count_cap`
        matches and the total is then a lower bound.
        """
        if page < 1 or page_size < 1:
            raise ValueError("page and page_size start at 1")
        order = ORDER_BY.get(str(order_by))
        if order is None:
            raise ValueError(f"unknown order {order_by!r}")
        unknown = set(states) - set(CompanyState)
        if unknown:
            raise ValueError(f"unknown states {sorted(unknown)}")
        offset = (page - 1) * page_size
        self.sweep_expired()
        with self._read() as db:
            found = company_filter(
                db,
                (query or "").strip(),
                offset + page_size,
                states=tuple(dict.fromkeys(str(s) for s in states)),
                name=name,
                cap=count_cap,
            )
            if offset >= found.total and not found.lower_bound:
                return CompanyPage([], found.total, found.lower_bound)
            # The inner query walks only the (covering) index to skip
            # `offset` rows; whole rows are read for the page alone.
            rows = db.execute(
                f"SELECT {COMPANY_COLUMNS} FROM companies WHERE seq IN ("
                f"SELECT seq FROM companies {found.where} ORDER BY {order} LIMIT ? OFFSET ?"
                f") ORDER BY {order}",
                (*found.params, page_size, offset),
            ).fetchall()
            by_company: dict[str, list[ConnectionRecord]] = {row[0]: [] for row in rows}
            if by_company:
                # One query for the connections of the whole page (no N+1).
                marks = ",".join("?" * len(by_company))
                for r in db.execute(
                    f"SELECT {CONNECTION_COLUMNS} FROM connections "
                    f"WHERE company_id IN ({marks}) ORDER BY created_at, id",
                    tuple(by_company),
                ):
                    by_company[r[1]].append(connection_row(r))
        total = found.total
        if found.lower_bound:
            # Never claim fewer than this page shows.
            total = max(total, offset + len(rows))
        records = [company_row(row, tuple(by_company[row[0]])) for row in rows]
        return CompanyPage(records, total, found.lower_bound)

    def company_stats(
        self, *, query: str | None = None, count_cap: int | None = COUNT_CAP
    ) -> tuple[dict[str, int], int, bool]:
        """Companies per connectionState for `query` (all companies without
        one), the total, and whether the counts are lower bounds."""
        self.sweep_expired()
        with self._read() as db:
            query = (query or "").strip()
            if not query:
                counts = dict(db.execute("SELECT state, n FROM state_counts").fetchall())
                by_state = {str(state): counts.get(str(state), 0) for state in CompanyState}
                return by_state, sum(by_state.values()), False
            found = company_filter(db, query, 1 << 62, cap=count_cap)
            limit = -1 if count_cap is None else count_cap
            rows = db.execute(
                f"SELECT state, count(*) FROM (SELECT state FROM companies {found.where} "
                "LIMIT ?) GROUP BY state",
                (*found.params, limit),
            ).fetchall()
        counts = dict(rows)
        by_state = {str(state): counts.get(str(state), 0) for state in CompanyState}
        total = sum(by_state.values())
        return by_state, total, found.lower_bound

    def count_companies(self) -> int:
        return self._db().execute("SELECT sum(n) FROM state_counts").fetchone()[0] or 0

    def delete_company(self, company_id: str) -> None:
        """Delete a company with its connections and authorizations."""
        with self._change() as db:
            row = db.execute(
                "SELECT name, state FROM companies WHERE id = ?", (company_id,)
            ).fetchone()
            if row is None:
                raise NotFound("Company not found")
            db.execute("DELETE FROM companies WHERE id = ?", (company_id,))
            db.execute("UPDATE state_counts SET n = n - 1 WHERE state = ?", (row[1],))
            self._record(db, EventType.COMPANY_DELETED, Actor.API, company_id, company_name=row[0])

    # ------------------------------------------------------- connections

    def list_connections(
        self, company_id: str, *, page: int = 1, page_size: int = 50
    ) -> tuple[list[ConnectionRecord], int]:
        if page < 1 or page_size < 1:
            raise ValueError("page and page_size start at 1")
        with self._read() as db:
            self._require_company(db, company_id)
            (total,) = db.execute(
                "SELECT count(*) FROM connections WHERE company_id = ?", (company_id,)
            ).fetchone()
            offset = (page - 1) * page_size
            if offset >= total:  # also keeps absurd page numbers away from SQLite
                return [], total
            rows = db.execute(
                f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE company_id = ? "
                "ORDER BY created_at, id LIMIT ? OFFSET ?",
                (company_id, page_size, offset),
            ).fetchall()
        return [connection_row(r) for r in rows], total

    def get_connection(self, company_id: str, connection_id: str) -> ConnectionRecord:
        with self._read() as db:
            return self._connection_of(db, company_id, connection_id)

    def _require_company(self, db: sqlite3.Connection, company_id: str) -> None:
        if db.execute("SELECT 1 FROM companies WHERE id = ?", (company_id,)).fetchone() is None:
            raise NotFound("Company not found")

    def _connection_of(
        self, db: sqlite3.Connection, company_id: str, connection_id: str
    ) -> ConnectionRecord:
        self._require_company(db, company_id)
        connection = self._find_connection(db, company_id, connection_id)
        if connection is None:
            raise NotFound("Connection not found")
        return connection

    def _find_connection(
        self, db: sqlite3.Connection, company_id: str, connection_id: str
    ) -> ConnectionRecord | None:
        row = db.execute(
            f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE company_id = ? AND id = ?",
            (company_id, connection_id),
        ).fetchone()
        return None if row is None else connection_row(row)

    def _active_connection(
        self, db: sqlite3.Connection, company_id: str, integration_key: str
    ) -> ConnectionRecord | None:
        row = db.execute(
            f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE company_id = ? "
            "AND integration_key = ? AND status IN ('CONNECTED', 'ERROR')",
            (company_id, integration_key),
        ).fetchone()
        return None if row is None else connection_row(row)

    def _latest_disconnected(
        self, db: sqlite3.Connection, company_id: str, integration_key: str
    ) -> str | None:
        row = db.execute(
            "SELECT id FROM connections WHERE company_id = ? AND integration_key = ? "
            "AND status = 'DISCONNECTED' ORDER BY updated_at DESC, id LIMIT 1",
            (company_id, integration_key),
        ).fetchone()
        return None if row is None else row[0]

    def disconnect(self, company_id: str, connection_id: str) -> ConnectionRecord:
        """Unlink: CONNECTED or ERROR becomes DISCONNECTED; a DISCONNECTED
        connection is returned unchanged."""
        with self._change() as db:
            connection = self._connection_of(db, company_id, connection_id)
            if connection.status == ConnectionStatus.DISCONNECTED:
                return connection
            return self._move(
                db,
                connection,
                ConnectionStatus.DISCONNECTED,
                EventType.CONNECTION_DISCONNECTED,
                Actor.API,
                detail="Unlinked",
            )

    def delete_connection(self, company_id: str, connection_id: str) -> None:
        with self._change() as db:
            connection = self._connection_of(db, company_id, connection_id)
            db.execute(
                "DELETE FROM connections WHERE company_id = ? AND id = ?",
                (company_id, connection_id),
            )
            self._record(
                db,
                EventType.CONNECTION_DELETED,
                Actor.API,
                company_id,
                connection_id=connection_id,
                integration_key=connection.integration_key,
                from_status=connection.status,
            )
            self._refresh_state(db, company_id, self._clock())

    def simulate(
        self,
        company_id: str,
        connection_id: str,
        status: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> ConnectionRecord:
        """Put a connection into `status` as the accounting software would:
        ERROR (a token expiring), DISCONNECTED (access revoked), CONNECTED
        (recovery). Conflict if that would make a second active connection.
        Asking for the status a connection already has changes nothing (an
        ERROR with another code or message is a new failure)."""
        status = ConnectionStatus(status)
        with self._change() as db:
            connection = self._connection_of(db, company_id, connection_id)
            if status in ACTIVE_STATUSES:
                self._refuse_second_active(db, connection)
            if status == ConnectionStatus.ERROR:
                code = error_code or DEFAULT_ERROR_CODE
                message = error_message or default_error_message(connection.integration_key, code)
                if (connection.status, connection.error_code, connection.error_message) == (
                    status,
                    code,
                    message,
                ):
                    return connection
                return self._move(
                    db,
                    connection,
                    status,
                    EventType.CONNECTION_FAILED,
                    Actor.PLATFORM,
                    detail=f"{code}: {message}",
                    error=(code, message),
                )
            if connection.status == status:
                return connection
            if status == ConnectionStatus.CONNECTED:
                return self._move(
                    db,
                    connection,
                    status,
                    EventType.CONNECTION_RECOVERED,
                    Actor.PLATFORM,
                    detail=f"{platform_name(connection.integration_key)} is syncing again",
                )
            return self._move(
                db,
                connection,
                status,
                EventType.CONNECTION_DISCONNECTED,
                Actor.PLATFORM,
                detail=f"Access was revoked in {platform_name(connection.integration_key)}",
            )

    def _refuse_second_active(self, db: sqlite3.Connection, connection: ConnectionRecord) -> None:
        active = self._active_connection(db, connection.company_id, connection.integration_key)
        if active is not None and active.id != connection.id:
            platform = INTEGRATION_NAMES.get(connection.integration_key, connection.integration_key)
            raise Conflict(f"The company already has an active {platform} connection ({active.id})")

    def _move(
        self,
        db: sqlite3.Connection,
        connection: ConnectionRecord,
        status: str,
        event: EventType,
        actor: Actor,
        *,
        detail: str | None = None,
        error: tuple[str, str] | None = None,
        authorization_id: str | None = None,
    ) -> ConnectionRecord:
        """A connection's status change, with its event and its company's state."""
        moved = self._set_status(db, connection, status, error=error)
        self._record(
            db,
            event,
            actor,
            connection.company_id,
            connection_id=connection.id,
            authorization_id=authorization_id,
            integration_key=connection.integration_key,
            from_status=connection.status,
            to_status=status,
            detail=detail,
        )
        self._refresh_state(db, connection.company_id, moved.updated_at)
        return moved

    def _set_status(
        self,
        db: sqlite3.Connection,
        connection: ConnectionRecord,
        status: str,
        *,
        error: tuple[str, str] | None = None,
    ) -> ConnectionRecord:
        now = self._clock()
        code, message = error if error else (None, None)
        occurred = now if error else None
        db.execute(
            "UPDATE connections SET status = ?, updated_at = ?, error_code = ?, "
            "error_message = ?, error_occurred_at = ? WHERE company_id = ? AND id = ?",
            (
                str(status),
                ts(now),
                code,
                message,
                None if occurred is None else ts(occurred),
                connection.company_id,
                connection.id,
            ),
        )
        return connection._replace(
            status=str(status),
            updated_at=now,
            error_code=code,
            error_message=message,
            error_occurred_at=occurred,
        )

    # ---------------------------------------------------- authorizations

    def start_authorization(
        self,
        company_id: str,
        integration_key: str,
        *,
        lifetime: timedelta | None = None,
    ) -> AuthorizationRecord:
        """A pending hand-off for a new connection of `integration_key`.
        Conflict if the company has a CONNECTED or ERROR one; if it has a
        DISCONNECTED one, completing reconnects it. An older PENDING link for
        the same integration is cancelled."""
        if integration_key not in INTEGRATION_NAMES:
            raise ValueError(f"unknown integration {integration_key!r}")
        integration_key = str(integration_key)
        with self._change() as db:
            self._require_company(db, company_id)
            active = self._active_connection(db, company_id, integration_key)
            if active is not None:
                platform = INTEGRATION_NAMES[integration_key]
                raise Conflict(
                    f"The company already has a {active.status} {platform} connection "
                    f"({active.id}); unlink it or use its authorize call to reconnect"
                )
            target = self._latest_disconnected(db, company_id, integration_key)
            return self._insert_authorization(
                db, company_id, integration_key, target, lifetime, Actor.API
            )

    def reauthorize(
        self, company_id: str, connection_id: str, *, lifetime: timedelta | None = None
    ) -> AuthorizationRecord:
        """A pending hand-off that reconnects this DISCONNECTED or ERROR
        connection. Conflict if it is CONNECTED."""
        with self._change() as db:
            connection = self._connection_of(db, company_id, connection_id)
            if connection.status == ConnectionStatus.CONNECTED:
                raise Conflict("The connection is already connected")
            return self._insert_authorization(
                db, company_id, connection.integration_key, connection.id, lifetime, Actor.API
            )

    def _insert_authorization(
        self,
        db: sqlite3.Connection,
        company_id: str,
        integration_key: str,
        connection_id: str | None,
        lifetime: timedelta | None,
        actor: Actor,
    ) -> AuthorizationRecord:
        now = self._clock()
        lifetime = self.link_ttl if lifetime is None else lifetime
        if lifetime <= timedelta(0):
            raise ValueError("an authorization's lifetime must be positive")
        older = db.execute(
            "SELECT id, connection_id FROM authorizations "
            "WHERE company_id = ? AND integration_key = ? AND status = 'PENDING'",
            (company_id, integration_key),
        ).fetchone()
        if older is not None:
            # API.md: one PENDING link per company and integration.
            db.execute(
                "UPDATE authorizations SET status = 'CANCELLED', used_at = ? WHERE id = ?",
                (ts(now), older[0]),
            )
            self._record(
                db,
                EventType.AUTHORIZATION_CANCELLED,
                actor,
                company_id,
                authorization_id=older[0],
                connection_id=older[1],
                integration_key=integration_key,
                from_status=AuthorizationStatus.PENDING,
                to_status=AuthorizationStatus.CANCELLED,
                detail="Replaced by a new link",
            )
        record = AuthorizationRecord(
            id=self._new_id(),
            company_id=company_id,
            integration_key=str(integration_key),
            connection_id=connection_id,
            status=AuthorizationStatus.PENDING,
            token=self._new_token(),
            created_at=now,
            expires_at=now + lifetime,
            used_at=None,
            company_name=self._company_name(db, company_id),
        )
        db.execute(
            f"INSERT INTO authorizations ({AUTHORIZATION_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.company_id,
                record.integration_key,
                record.connection_id,
                str(record.status),
                record.token,
                ts(record.created_at),
                ts(record.expires_at),
                None,
            ),
        )
        self._record(
            db,
            EventType.AUTHORIZATION_CREATED,
            actor,
            company_id,
            company_name=record.company_name,
            authorization_id=record.id,
            connection_id=connection_id,
            integration_key=integration_key,
            to_status=AuthorizationStatus.PENDING,
            detail=(
                f"{'Reconnect' if connection_id else 'Connect'} link for "
                f"{platform_name(integration_key)}, expires {ts(record.expires_at)[:16]}Z"
            ),
        )
        self._refresh_state(db, company_id, now)
        return record

    def _company_name(self, db: sqlite3.Connection, company_id: str) -> str:
        row = db.execute("SELECT name FROM companies WHERE id = ?", (company_id,)).fetchone()
        return "" if row is None else row[0]

    def _authorization(self, row: Sequence) -> AuthorizationRecord:
        """A row of AUTHORIZATION_COLUMNS, optionally followed by the company's name."""
        status = row[4]
        expires_at = datetime.fromisoformat(row[7])
        if status == AuthorizationStatus.PENDING and self._clock() >= expires_at:
            status = AuthorizationStatus.EXPIRED
        return AuthorizationRecord(
            id=row[0],
            company_id=row[1],
            integration_key=row[2],
            connection_id=row[3],
            status=status,
            token=row[5],
            created_at=datetime.fromisoformat(row[6]),
            expires_at=expires_at,
            used_at=dt(row[8]),
            company_name=row[9] if len(row) > 9 else "",
        )

    def get_authorization(self, company_id: str, authorization_id: str) -> AuthorizationRecord:
        self.sweep_expired()
        with self._read() as db:
            self._require_company(db, company_id)
            row = db.execute(
                f"SELECT {AUTHORIZATION_JOINED} FROM authorizations a "
                "JOIN companies c ON c.id = a.company_id WHERE a.id = ? AND a.company_id = ?",
                (authorization_id, company_id),
            ).fetchone()
        if row is None:
            raise NotFound("Authorization not found")
        return self._authorization(row)

    def list_authorizations(
        self,
        *,
        statuses: Sequence[str] = (),
        company_id: str | None = None,
        order_by: str = "-createdAt",
        page: int = 1,
        page_size: int = 50,
    ) -> tuple[list[AuthorizationRecord], int]:
        """Authorizations across all companies (or one), with the total."""
        if page < 1 or page_size < 1:
            raise ValueError("page and page_size start at 1")
        order = {
            "expiresAt": "a.expires_at ASC, a.id ASC",
            "-createdAt": "a.created_at DESC, a.id DESC",
        }.get(order_by)
        if order is None:
            raise ValueError(f"unknown order {order_by!r}")
        unknown = set(statuses) - set(AuthorizationStatus)
        if unknown:
            raise ValueError(f"unknown statuses {sorted(unknown)}")
        conditions: list[str] = []
        params: list[str] = []
        wanted = tuple(dict.fromkeys(str(s) for s in statuses))
        if wanted:
            conditions.append(f"a.status IN ({','.join('?' * len(wanted))})")
            params.extend(wanted)
        if company_id is not None:
            conditions.append("a.company_id = ?")
            params.append(company_id)
        where = where_clause(conditions)
        self.sweep_expired()
        with self._read() as db:
            (total,) = db.execute(
                f"SELECT count(*) FROM authorizations a {where}", params
            ).fetchone()
            offset = (page - 1) * page_size
            if offset >= total:
                return [], total
            rows = db.execute(
                f"SELECT {AUTHORIZATION_JOINED} FROM authorizations a "
                f"JOIN companies c ON c.id = a.company_id {where} ORDER BY {order} "
                "LIMIT ? OFFSET ?",
                (*params, page_size, offset),
            ).fetchall()
        return [self._authorization(row) for row in rows], total

    def cancel_authorization(self, company_id: str, authorization_id: str) -> AuthorizationRecord:
        """Cancel a PENDING link (it answers 410 from then on); Conflict if
        it is not pending."""
        with self._change() as db:
            self._require_company(db, company_id)
            row = db.execute(
                f"SELECT {AUTHORIZATION_JOINED} FROM authorizations a "
                "JOIN companies c ON c.id = a.company_id WHERE a.id = ? AND a.company_id = ?",
                (authorization_id, company_id),
            ).fetchone()
            if row is None:
                raise NotFound("Authorization not found")
            authorization = self._authorization(row)
            if authorization.status != AuthorizationStatus.PENDING:
                raise Conflict(
                    f"The authorization is {authorization.status}, not PENDING: "
                    "only a pending link can be cancelled"
                )
            now = self._clock()
            db.execute(
                "UPDATE authorizations SET status = 'CANCELLED', used_at = ? WHERE id = ?",
                (ts(now), authorization_id),
            )
            self._record(
                db,
                EventType.AUTHORIZATION_CANCELLED,
                Actor.API,
                company_id,
                company_name=authorization.company_name,
                authorization_id=authorization_id,
                connection_id=authorization.connection_id,
                integration_key=authorization.integration_key,
                from_status=AuthorizationStatus.PENDING,
                to_status=AuthorizationStatus.CANCELLED,
                detail="Cancelled",
            )
            self._refresh_state(db, company_id, now)
            return replace(authorization, status=AuthorizationStatus.CANCELLED, used_at=now)

    def expire_authorization(self, authorization_id: str) -> AuthorizationRecord:
        """Sandbox QA: a PENDING link expires now (recorded as it would be)."""
        with self._change() as db:
            row = db.execute(
                f"SELECT {AUTHORIZATION_JOINED} FROM authorizations a "
                "JOIN companies c ON c.id = a.company_id WHERE a.id = ?",
                (authorization_id,),
            ).fetchone()
            if row is None:
                raise NotFound("Authorization not found")
            authorization = self._authorization(row)
            if authorization.status != AuthorizationStatus.PENDING:
                raise Conflict(f"The authorization is {authorization.status}, not PENDING")
            now = self._clock()
            db.execute(
                "UPDATE authorizations SET expires_at = ? WHERE id = ?",
                (ts(now), authorization_id),
            )
            self._expire_due(db)
            return replace(authorization, status=AuthorizationStatus.EXPIRED, expires_at=now)

    def complete_authorization(
        self, authorization_id: str, *, allow: bool, actor: Actor = Actor.CUSTOMER
    ) -> AuthorizationRecord:
        """What the customer's Allow or Deny click does.

        Allow reconnects the connection the authorization names (or, if it
        has none, a DISCONNECTED one of that integration) or creates one, as
        CONNECTED, and marks the authorization COMPLETED. Deny marks it
        DECLINED. Gone if it was used, cancelled or has expired; Conflict if
        allowing would make a second active connection. On a refusal nothing
        changes.
        """
        with self._change() as db:
            row = db.execute(
                f"SELECT {AUTHORIZATION_JOINED} FROM authorizations a "
                "JOIN companies c ON c.id = a.company_id WHERE a.id = ?",
                (authorization_id,),
            ).fetchone()
            if row is None:
                raise NotFound("Authorization not found")
            authorization = self._authorization(row)
            if authorization.status == AuthorizationStatus.EXPIRED:
                raise Gone("This authorization link has expired")
            if authorization.status == AuthorizationStatus.CANCELLED:
                raise Gone("This authorization link was cancelled: ask for a new one")
            if authorization.status != AuthorizationStatus.PENDING:
                raise Gone("This authorization link has already been used")
            now = self._clock()
            company_name = authorization.company_name
            key = authorization.integration_key
            if not allow:
                status, connection_id = AuthorizationStatus.DECLINED, authorization.connection_id
                self._record(
                    db,
                    EventType.AUTHORIZATION_DECLINED,
                    actor,
                    authorization.company_id,
                    connection_id=connection_id,
                    from_status=AuthorizationStatus.PENDING,
                    to_status=status,
                    detail=f"The customer declined {platform_name(key)}",
                    company_name=company_name,
                    authorization_id=authorization.id,
                    integration_key=key,
                )
            else:
                status = AuthorizationStatus.COMPLETED
                connection_id, from_status = self._connect(db, authorization, now)
                self._record(
                    db,
                    EventType.AUTHORIZATION_COMPLETED,
                    actor,
                    authorization.company_id,
                    connection_id=connection_id,
                    from_status=AuthorizationStatus.PENDING,
                    to_status=status,
                    detail=f"The customer allowed {platform_name(key)}",
                    company_name=company_name,
                    authorization_id=authorization.id,
                    integration_key=key,
                )
                self._record(
                    db,
                    EventType.CONNECTION_CONNECTED
                    if from_status is None
                    else EventType.CONNECTION_RECONNECTED,
                    actor,
                    authorization.company_id,
                    connection_id=connection_id,
                    from_status=from_status,
                    to_status=ConnectionStatus.CONNECTED,
                    detail=f"{platform_name(key)} is connected",
                    company_name=company_name,
                    authorization_id=authorization.id,
                    integration_key=key,
                )
            db.execute(
                "UPDATE authorizations SET status = ?, used_at = ?, connection_id = ? WHERE id = ?",
                (str(status), ts(now), connection_id, authorization.id),
            )
            self._refresh_state(db, authorization.company_id, now)
            return replace(authorization, status=status, used_at=now, connection_id=connection_id)

    def _connect(
        self, db: sqlite3.Connection, authorization: AuthorizationRecord, now: datetime
    ) -> tuple[str, str | None]:
        """Make the authorization's connection CONNECTED; returns its id and
        its status before (None for a new connection)."""
        company_id, key = authorization.company_id, authorization.integration_key
        target = None
        if authorization.connection_id is not None:
            target = self._find_connection(db, company_id, authorization.connection_id)
        if target is None:
            # None was named, or the named one was deleted meanwhile.
            target_id = self._latest_disconnected(db, company_id, key)
            if target_id is not None:
                target = self._find_connection(db, company_id, target_id)
        if target is not None:
            self._refuse_second_active(db, target)
            self._set_status(db, target, ConnectionStatus.CONNECTED)
            return target.id, target.status
        if self._active_connection(db, company_id, key) is not None:
            platform = INTEGRATION_NAMES.get(key, key)
            raise Conflict(f"The company is already connected to {platform}")
        connection_id = self._new_id()
        db.execute(
            f"INSERT INTO connections ({CONNECTION_COLUMNS}) "
            "VALUES (?, ?, ?, 'CONNECTED', ?, ?, NULL, NULL, NULL, NULL)",
            (connection_id, company_id, key, ts(now), ts(now)),
        )
        return connection_id, None

    # -------------------------------------------------------- link pages

    def resolve_link(self, token: str) -> LinkTarget | None:
        """The company or authorization a Link page token belongs to; None
        for an unknown token, Gone for a company link that was replaced."""
        self.sweep_expired()
        with self._read() as db:
            if db.execute("SELECT 1 FROM retired_links WHERE token = ?", (token,)).fetchone():
                raise Gone("This link was replaced by a newer one: ask for the current link")
            row = db.execute(
                f"SELECT {COMPANY_COLUMNS} FROM companies WHERE link_token = ?", (token,)
            ).fetchone()
            if row is not None:
                return LinkTarget(company=self._company_with_connections(db, row[0]))
            row = db.execute(
                f"SELECT {AUTHORIZATION_JOINED} FROM authorizations a "
                "JOIN companies c ON c.id = a.company_id WHERE a.token = ?",
                (token,),
            ).fetchone()
            if row is None:
                return None
            authorization = self._authorization(row)
            company = self._company_with_connections(db, authorization.company_id)
        return LinkTarget(company=company, authorization=authorization)

    def authorize_from_link(self, company_id: str, integration_key: str) -> AuthorizationRecord:
        """A company Link page click: a new connection, or a reconnect of the
        integration's ERROR connection (the customer fixing it); Conflict if
        it is CONNECTED."""
        if integration_key not in INTEGRATION_NAMES:
            raise ValueError(f"unknown integration {integration_key!r}")
        with self._change() as db:
            self._require_company(db, company_id)
            active = self._active_connection(db, company_id, integration_key)
            if active is not None and active.status == ConnectionStatus.CONNECTED:
                raise Conflict(
                    f"The company is already connected to {INTEGRATION_NAMES[integration_key]}"
                )
            target = (
                active.id
                if active is not None
                else self._latest_disconnected(db, company_id, integration_key)
            )
            return self._insert_authorization(
                db, company_id, integration_key, target, None, Actor.CUSTOMER
            )

    # ------------------------------------------------------------ events

    def list_events(
        self,
        *,
        after: int | None = None,
        company_id: str | None = None,
        types: Sequence[str] = (),
        page_size: int = 100,
    ) -> EventFeed:
        """`GET /events`: with `after`, the events after it, oldest first;
        without, the newest first. Gone when `after` is older than what is
        kept (or newer than anything this feed has handed out)."""
        if not 1 <= page_size <= EVENTS_PAGE_MAX:
            raise ValueError(f"page_size must be 1 to {EVENTS_PAGE_MAX}")
        self.sweep_expired()
        conditions, params = event_conditions(company_id, types)
        with self._read() as db:
            last = last_sequence(db)
            if after is not None:
                (floor,) = db.execute(
                    "SELECT value FROM meta WHERE name = 'events_floor'"
                ).fetchone()
                if after < floor or after > last:
                    raise Gone(
                        f"Events after {after} are no longer kept (the feed starts after "
                        f"{floor} and ends at {last}): reload, then follow from {last}"
                    )
                conditions.append("sequence > ?")
                params.append(after)
                order = "sequence ASC"
            else:
                order = "sequence DESC"
            rows = db.execute(
                f"SELECT {EVENT_COLUMNS} FROM events {where_clause(conditions)} "
                f"ORDER BY {order} LIMIT ?",
                (*params, page_size + 1),
            ).fetchall()
        return EventFeed([event_row(r) for r in rows[:page_size]], len(rows) > page_size, last)

    def company_events(
        self, company_id: str, *, page: int = 1, page_size: int = 50, types: Sequence[str] = ()
    ) -> tuple[list[EventRecord], int]:
        """A company's timeline, newest first, with the total."""
        if page < 1 or page_size < 1:
            raise ValueError("page and page_size start at 1")
        self.sweep_expired()
        conditions, params = event_conditions(company_id, types)
        where = where_clause(conditions)
        with self._read() as db:
            self._require_company(db, company_id)
            (total,) = db.execute(f"SELECT count(*) FROM events {where}", params).fetchone()
            offset = (page - 1) * page_size
            if offset >= total:
                return [], total
            rows = db.execute(
                f"SELECT {EVENT_COLUMNS} FROM events {where} ORDER BY sequence DESC "
                "LIMIT ? OFFSET ?",
                (*params, page_size, offset),
            ).fetchall()
        return [event_row(r) for r in rows], total

    # -------------------------------------------------------------- reset

    def reset(self) -> None:
        """Delete every company, connection, authorization and event (and the
        stored idempotent replies that describe them); keys stay. Watchers of
        the feed get 410 for any cursor from before."""
        with self._write() as db:
            last = last_sequence(db)
            # The per-row FTS trigger would make this slow at a million rows:
            # the index is emptied in one go instead.
            db.execute("DROP TRIGGER companies_fts_delete")
            db.execute("DELETE FROM connections")
            db.execute("DELETE FROM authorizations")
            db.execute("DELETE FROM retired_links")
            db.execute("DELETE FROM companies")
            db.execute("INSERT INTO companies_fts(companies_fts) VALUES ('delete-all')")
            db.execute(
                "CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN "
                "INSERT INTO companies_fts(companies_fts, rowid, name) "
                "VALUES ('delete', old.seq, old.name); END"
            )
            db.execute("DELETE FROM events")
            db.execute("DELETE FROM idempotency")
            db.execute("UPDATE state_counts SET n = 0")
            db.execute("UPDATE meta SET value = ? WHERE name = 'events_floor'", (last,))

    # ------------------------------------------------------- idempotency

    def idempotency_begin(
        self, key_hash: str, idempotency_key: str, method: str, path: str, body_hash: str
    ) -> IdempotencyOutcome:
        """Claim an idempotency key for a request, or say why not.

        NEW means the caller must run the request and then call
        `idempotency_finish` (or `idempotency_abandon` if it must not be
        stored, e.g. a 5xx)."""
        now = self._clock()
        with self._write() as db:
            expired = ts(now - IDEMPOTENCY_TTL)
            db.execute("DELETE FROM idempotency WHERE created_at < ?", (expired,))
            row = db.execute(
                "SELECT method, path, body_hash, created_at, status, content_type, body "
                "FROM idempotency WHERE key_hash = ? AND idempotency_key = ?",
                (key_hash, idempotency_key),
            ).fetchone()
            if row is not None:
                stored_method, stored_path, stored_body, created_at, status, ctype, body = row
                if (stored_method, stored_path, stored_body) != (method, path, body_hash):
                    return IdempotencyOutcome(IdempotencyState.MISMATCH)
                if status is not None:
                    return IdempotencyOutcome(IdempotencyState.REPLAY, status, ctype, bytes(body))
                if datetime.fromisoformat(created_at) > now - IDEMPOTENCY_ABANDONED_AFTER:
                    return IdempotencyOutcome(IdempotencyState.IN_FLIGHT)
            db.execute(
                "INSERT OR REPLACE INTO idempotency (key_hash, idempotency_key, method, path, "
                "body_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (key_hash, idempotency_key, method, path, body_hash, ts(now)),
            )
        return IdempotencyOutcome(IdempotencyState.NEW)

    def idempotency_finish(
        self, key_hash: str, idempotency_key: str, status: int, content_type: str, body: bytes
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE idempotency SET status = ?, content_type = ?, body = ? "
                "WHERE key_hash = ? AND idempotency_key = ?",
                (status, content_type, body, key_hash, idempotency_key),
            )

    def idempotency_abandon(self, key_hash: str, idempotency_key: str) -> None:
        """Forget an in-flight claim so a retry runs the request afresh."""
        with self._write() as db:
            db.execute(
                "DELETE FROM idempotency WHERE key_hash = ? AND idempotency_key = ? "
                "AND status IS NULL",
                (key_hash, idempotency_key),
            )

    # -------------------------------------------------------------- seed

    def seed(
        self,
        n: int,
        *,
        connections_per_company: int | None = None,
        seed: int | None = None,
        states: dict[str, float] | None = None,
    ) -> int:
        """Add `n` demo companies with their history (as events). With
        `seed`, names, emails, states and dates (relative to now) are
        reproducible. Returns `n`.

        `states` gives shares of each connectionState (the rest follows
        DEFAULT_STATE_MIX); companies in ERROR, CONNECTED or DISCONNECTED
        get `connections_per_company` connections (default 1), PENDING ones
        a live link, NOT_CONNECTED ones none (some with an expired or
        declined link). With `connections_per_company` and no `states`,
        every company gets exactly that many connections, their statuses
        drawn one by one (70 % CONNECTED, 15 % ERROR, 15 % DISCONNECTED).
        """
        if not 1 <= n <= SEED_MAX:
            raise ValueError(f"n must be 1 to {SEED_MAX:,}")
        per_company = 1 if connections_per_company is None else connections_per_company
        if not 0 <= per_company <= len(INTEGRATION_NAMES):
            raise ValueError(f"connections_per_company must be 0 to {len(INTEGRATION_NAMES)}")
        mix = None
        if states is not None or connections_per_company is None:
            mix = state_mix(states or {})
            needs_connections = [
                s for s in ("ERROR", "CONNECTED", "DISCONNECTED") if mix.get(s, 0) > 0
            ]
            if per_company == 0 and needs_connections:
                raise ValueError(
                    f"states {', '.join(needs_connections)} need connections_per_company >= 1"
                )
        rng = random.Random(seed)
        stamps = SeedTimestamps(self._clock())
        recorded = ts(self._clock())
        done = 0
        db = self._db()
        # Random ids land all over the id, token and event indexes: a cache
        # that holds them keeps a million-company seed from thrashing.
        db.execute(f"PRAGMA cache_size = -{_SEED_CACHE_KIB}")
        try:
            while done < n:
                chunk = min(SEED_CHUNK, n - done)
                # Built before taking the write lock: other writers wait only for the inserts.
                rows = demo_rows(
                    rng,
                    chunk,
                    per_company,
                    mix,
                    stamps,
                    recorded,
                    self._new_id,
                    self._new_token,
                )
                with self._write() as db:
                    (last_seq,) = db.execute(
                        "SELECT coalesce(max(seq), 0) FROM companies"
                    ).fetchone()
                    numbered = [(last_seq + i, *row) for i, row in enumerate(rows.companies, 1)]
                    db.executemany(
                        f"INSERT INTO companies (seq, {COMPANY_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        numbered,
                    )
                    db.executemany(
                        "INSERT INTO companies_fts (rowid, name) VALUES (?, ?)",
                        [(row[0], row[2]) for row in numbered],
                    )
                    db.executemany(
                        f"INSERT INTO connections ({CONNECTION_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows.connections,
                    )
                    db.executemany(
                        f"INSERT INTO authorizations ({AUTHORIZATION_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows.authorizations,
                    )
                    db.executemany(
                        "INSERT INTO events (id, type, occurred_at, recorded_at, actor, "
                        "company_id, company_name, connection_id, authorization_id, "
                        "integration_key, from_status, to_status, detail) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows.events,
                    )
                    db.executemany(
                        "UPDATE state_counts SET n = n + ? WHERE state = ?",
                        [(count, state) for state, count in rows.state_counts.items()],
                    )
                done += chunk
        finally:
            self._db().execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        return n

    def seed_connection_history(
        self, company_id: str, count: int, *, seed: int | None = None
    ) -> int:
        """Add `count` DISCONNECTED connections to a company, spread over the
        integrations and the time since it was created: the history a
        long-standing customer builds by unlinking and reconnecting (the API
        itself reconnects the same connection, so it never makes one).
        With `seed` the dates are reproducible. Returns `count`."""
        if not 1 <= count <= HISTORY_MAX:
            raise ValueError(f"count must be 1 to {HISTORY_MAX:,}")
        rng = random.Random(seed)
        keys = list(INTEGRATION_NAMES)
        with self._write() as db:
            company = self._company_with_connections(db, company_id)
            # Offsets in microseconds after the company was created, up to now.
            span = max(self._clock() - company.created_at, timedelta(0)) // _MICROSECOND

            def stamp(offset: int) -> str:
                return ts(company.created_at + offset * _MICROSECOND)

            rows = []
            for index in range(count):
                created = rng.randint(0, span)
                updated = rng.randint(created, span)
                synced = rng.randint(created, updated)
                rows.append(
                    (
                        self._new_id(),
                        company_id,
                        keys[index % len(keys)],
                        ConnectionStatus.DISCONNECTED.value,
                        stamp(created),
                        stamp(updated),
                        stamp(synced),
                        None,
                        None,
                        None,
                    )
                )
            db.executemany(
                f"INSERT INTO connections ({CONNECTION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            # Each one's history: connected, later unlinked.
            for row in sorted(rows, key=itemgetter(4)):
                connection_id, _, key, _, created_at, updated_at = row[:6]
                for type_, actor, from_status, to_status, at in (
                    (EventType.CONNECTION_CONNECTED, Actor.CUSTOMER, None, "CONNECTED", created_at),
                    (
                        EventType.CONNECTION_DISCONNECTED,
                        Actor.API,
                        "CONNECTED",
                        "DISCONNECTED",
                        updated_at,
                    ),
                ):
                    self._record(
                        db,
                        type_,
                        actor,
                        company_id,
                        company_name=company.name,
                        connection_id=connection_id,
                        integration_key=key,
                        from_status=from_status,
                        to_status=to_status,
                        occurred_at=datetime.fromisoformat(at),
                    )
            self._refresh_state(db, company_id, self._clock())
        return count


def _write_private_file(path: Path, text: str) -> None:
    """Write `text` readable by the owner only, replacing `path` atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    os.replace(tmp, path)
