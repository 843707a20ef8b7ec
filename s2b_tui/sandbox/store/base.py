"""The store's foundation: one SQLite connection per thread, transactions,
the schema and its migration, and what every kind of change shares (its
event, the company's derived state, links that expired meanwhile)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sqlite3
import string
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from s2b_tui.api.models import (
    INTEGRATION_NAMES,
    Actor,
    AuthorizationStatus,
    CompanyState,
    ConnectionStatus,
    EventType,
)
from s2b_tui.sandbox.common import DEFAULT_LINK_TTL
from s2b_tui.sandbox.ids import new_link_token, new_uuid
from s2b_tui.sandbox.records import (
    AuthorizationRecord,
    CompanyRecord,
    Conflict,
    ConnectionRecord,
    NotFound,
)
from s2b_tui.sandbox.schema import MIGRATE_1_TO_2, SCHEMA, SCHEMA_VERSION, split_sql
from s2b_tui.sandbox.sql import (
    COMPANY_COLUMNS,
    CONNECTION_COLUMNS,
    STATE_OF_COMPANY,
    casefold,
    company_row,
    connection_row,
    dt,
    platform_name,
    ts,
)

DB_FILE = "sandbox.db"
KEY_FILE = "api-key"
#: How long a stored idempotent reply is kept (API.md, Idempotency).
IDEMPOTENCY_TTL = timedelta(hours=24)
#: An in-flight idempotency row older than this belongs to a request whose
#: process died; a retry may take it over instead of getting 409 forever.
IDEMPOTENCY_ABANDONED_AFTER = timedelta(minutes=10)
#: Events are kept at least this long (API.md: 30 days); older ones are pruned.
EVENT_RETENTION = timedelta(days=31)
EVENTS_PAGE_MAX = 500

_BUSY_TIMEOUT_MS = 5000
#: How long `close` waits for another thread's transaction to end.
_CLOSE_WAIT_SECONDS = 10
#: How long a read waits to record expired links before leaving it to later.
_SWEEP_BUSY_MS = 20
_CACHE_KIB = 64 * 1024
_KEY_ALPHABET = string.ascii_letters + string.digits

ACTIVE_STATUSES = (ConnectionStatus.CONNECTED, ConnectionStatus.ERROR)


# --------------------------------------------------------------- helpers


def _utc_now() -> datetime:
    return datetime.now(UTC)


def key_digest(raw_key: str) -> str:
    """SHA-256 of an API key: what the store keeps instead of the key."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


# ----------------------------------------------------------------- store


class StoreBase:
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
        self._in_use: dict[sqlite3.Connection, threading.RLock] = {}
        self._closed = False

        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._migrate()
        self._api_key = self._ensure_api_key()

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

    # ------------------------------------------------------- connections

    def _db(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        if self._closed:
            raise RuntimeError("the sandbox store is closed")
        db = getattr(self._local, "db", None)
        if db is None:
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
                # Held while a transaction runs on it (see `close`).
                self._in_use[db] = threading.RLock()
        return db

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction. IMMEDIATE takes the write lock up front, so
        two processes queue on the busy timeout instead of deadlocking."""
        db = self._db()
        with self._in_use[db]:
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
        with self._in_use[db]:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                db.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection. Idempotent.

        Another thread may be inside a transaction (a seed, say): its
        statement is interrupted, and its connection closed once the
        transaction has ended; closing it under a running statement would
        crash the process. One still busy after `_CLOSE_WAIT_SECONDS` is
        left to be closed with its thread."""
        self._closed = True
        with self._connections_lock:
            connections, self._all_connections = self._all_connections, []
        for db in connections:
            db.interrupt()
        for db in connections:
            in_use = self._in_use.pop(db)
            if in_use.acquire(timeout=_CLOSE_WAIT_SECONDS):
                try:
                    db.close()
                finally:
                    in_use.release()
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

    def _refuse_second_active(self, db: sqlite3.Connection, connection: ConnectionRecord) -> None:
        active = self._active_connection(db, connection.company_id, connection.integration_key)
        if active is not None and active.id != connection.id:
            platform = INTEGRATION_NAMES.get(connection.integration_key, connection.integration_key)
            raise Conflict(f"The company already has an active {platform} connection ({active.id})")

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


def _write_private_file(path: Path, text: str) -> None:
    """Write `text` readable by the owner only, replacing `path` atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    os.replace(tmp, path)
