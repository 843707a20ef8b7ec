"""The sandbox's data: companies, connections, authorizations, API keys and
idempotent replies, in one SQLite file.

The store knows nothing about HTTP. It is safe to use from several threads
(each thread gets its own SQLite connection) and from several processes on
the same data directory (WAL journal, a busy timeout, and every write in a
`BEGIN IMMEDIATE` transaction so two writers never deadlock on an upgrade).
Invariants live in the schema where they can, e.g. the partial unique index
that allows one CONNECTED or ERROR connection per company and integration.

The schema is in `schema`, the records and refusals the store hands out in
`records`, and what `seed` inserts in `demo_data`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import secrets
import sqlite3
import string
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from s2b_tui.api.keys import KEY_PATTERN
from s2b_tui.api.models import INTEGRATION_NAMES, AuthorizationStatus, ConnectionStatus
from s2b_tui.sandbox.common import DEFAULT_LINK_TTL
from s2b_tui.sandbox.demo_data import SeedTimestamps, demo_rows
from s2b_tui.sandbox.records import (
    DEFAULT_ERROR_CODE,
    AuthorizationRecord,
    CompanyRecord,
    Conflict,
    ConnectionRecord,
    Gone,
    IdempotencyOutcome,
    IdempotencyState,
    LinkTarget,
    NotFound,
    default_error_message,
)
from s2b_tui.sandbox.schema import SCHEMA, SCHEMA_VERSION, split_sql

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

_MICROSECOND = timedelta(microseconds=1)
_BUSY_TIMEOUT_MS = 5000
_CACHE_KIB = 64 * 1024
_KEY_ALPHABET = string.ascii_letters + string.digits
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Trigram full-text search needs at least three characters; shorter
# queries fall back to LIKE.
_TRIGRAM_MIN = 3

ACTIVE_STATUSES = (ConnectionStatus.CONNECTED, ConnectionStatus.ERROR)


# --------------------------------------------------------------- helpers


def _utc_now() -> datetime:
    return datetime.now(UTC)


# Hex digit -> RFC 4122 variant digit (8, 9, a or b) keeping its two low bits.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _new_uuid() -> str:
    """A random UUID4 string; same as str(uuid.uuid4()) at a third of the
    cost, which matters when seeding 100,000 companies."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT_DIGIT[h[16]]}{h[17:20]}-{h[20:]}"


def _new_link_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG


def key_digest(raw_key: str) -> str:
    """SHA-256 of an API key: what the store keeps instead of the key."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _ts(moment: datetime) -> str:
    # Fixed width, so text order is time order in indexes and comparisons.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(text: str) -> str:
    # One quoted phrase: for the trigram tokenizer, a substring match.
    return '"' + text.replace('"', '""') + '"'


_ORDER_BY = {
    "name": "name COLLATE NOCASE ASC, seq ASC",
    "-name": "name COLLATE NOCASE DESC, seq DESC",
    "createdAt": "created_at ASC, seq ASC",
    "-createdAt": "created_at DESC, seq DESC",
}

_COMPANY_COLUMNS = "id, name, description, created_at, link_token"
_CONNECTION_COLUMNS = (
    "id, company_id, integration_key, status, created_at, updated_at, last_sync_at, "
    "error_code, error_message, error_occurred_at"
)
_AUTHORIZATION_COLUMNS = (
    "id, company_id, integration_key, connection_id, status, token, created_at, expires_at, used_at"
)


def _connection(row: Sequence) -> ConnectionRecord:
    return ConnectionRecord(
        id=row[0],
        company_id=row[1],
        integration_key=row[2],
        status=row[3],
        created_at=datetime.fromisoformat(row[4]),
        updated_at=datetime.fromisoformat(row[5]),
        last_sync_at=_dt(row[6]),
        error_code=row[7],
        error_message=row[8],
        error_occurred_at=_dt(row[9]),
    )


def _company(row: Sequence, connections: tuple[ConnectionRecord, ...] = ()) -> CompanyRecord:
    return CompanyRecord(
        id=row[0],
        name=row[1],
        description=row[2],
        created_at=datetime.fromisoformat(row[3]),
        link_token=row[4],
        connections=connections,
    )


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
        self._new_id = new_id or _new_uuid
        self._new_token = new_token or _new_link_token
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
                return
            if version != 0:
                raise RuntimeError(
                    f"{self.db_path} has schema version {version}; this sandbox "
                    f"understands version {SCHEMA_VERSION}. Use another data directory."
                )
            # executescript() would commit the open transaction: run statements singly.
            for statement in split_sql(SCHEMA):
                db.execute(statement)
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
            (key_digest(raw), _ts(self._clock())),
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
                (_ts(self._clock()), key_digest(raw_key)),
            )
            return cursor.rowcount == 1

    # --------------------------------------------------------- companies

    def create_company(self, name: str, description: str | None = None) -> CompanyRecord:
        """Insert a company; `name` and `description` must already be valid
        (see s2b_tui.api.validation)."""
        record = CompanyRecord(
            id=self._new_id(),
            name=name,
            description=description,
            created_at=self._clock(),
            link_token=self._new_token(),
        )
        with self._write() as db:
            cursor = db.execute(
                f"INSERT INTO companies ({_COMPANY_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                (record.id, name, description, _ts(record.created_at), record.link_token),
            )
            db.execute(
                "INSERT INTO companies_fts (rowid, name) VALUES (?, ?)", (cursor.lastrowid, name)
            )
        return record

    def get_company(self, company_id: str) -> CompanyRecord:
        with self._read() as db:
            return self._company_with_connections(db, company_id)

    def _company_with_connections(self, db: sqlite3.Connection, company_id: str) -> CompanyRecord:
        row = db.execute(
            f"SELECT {_COMPANY_COLUMNS} FROM companies WHERE id = ?", (company_id,)
        ).fetchone()
        if row is None:
            raise NotFound("Company not found")
        connections = tuple(
            _connection(r)
            for r in db.execute(
                f"SELECT {_CONNECTION_COLUMNS} FROM connections WHERE company_id = ? "
                "ORDER BY created_at, id",
                (company_id,),
            )
        )
        return _company(row, connections)

    def list_companies(
        self,
        *,
        page: int = 1,
        page_size: int = 50,
        query: str | None = None,
        order_by: str = "-createdAt",
    ) -> tuple[list[CompanyRecord], int]:
        """One page of companies, each with its connections, and the total.

        `query` matches a case-insensitive substring of the name, or an
        exact id. `order_by` is name, -name, createdAt or -createdAt.
        """
        if page < 1 or page_size < 1:
            raise ValueError("page and page_size start at 1")
        order = _ORDER_BY.get(str(order_by))
        if order is None:
            raise ValueError(f"unknown order {order_by!r}")
        offset = (page - 1) * page_size
        with self._read() as db:
            where, params, total = _company_filter(db, (query or "").strip(), offset + page_size)
            if offset >= total:
                return [], total
            # The inner query walks only the (covering) index to skip
            # `offset` rows; whole rows are read for the page alone.
            rows = db.execute(
                f"SELECT {_COMPANY_COLUMNS} FROM companies WHERE seq IN ("
                f"SELECT seq FROM companies {where} ORDER BY {order} LIMIT ? OFFSET ?"
                f") ORDER BY {order}",
                (*params, page_size, offset),
            ).fetchall()
            by_company: dict[str, list[ConnectionRecord]] = {row[0]: [] for row in rows}
            if by_company:
                # One query for the connections of the whole page (no N+1).
                marks = ",".join("?" * len(by_company))
                for r in db.execute(
                    f"SELECT {_CONNECTION_COLUMNS} FROM connections "
                    f"WHERE company_id IN ({marks}) ORDER BY created_at, id",
                    tuple(by_company),
                ):
                    by_company[r[1]].append(_connection(r))
        return [_company(row, tuple(by_company[row[0]])) for row in rows], total

    def count_companies(self) -> int:
        return self._db().execute("SELECT count(*) FROM companies").fetchone()[0]

    def delete_company(self, company_id: str) -> None:
        """Delete a company with its connections and authorizations."""
        with self._write() as db:
            if db.execute("DELETE FROM companies WHERE id = ?", (company_id,)).rowcount == 0:
                raise NotFound("Company not found")

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
                f"SELECT {_CONNECTION_COLUMNS} FROM connections WHERE company_id = ? "
                "ORDER BY created_at, id LIMIT ? OFFSET ?",
                (company_id, page_size, offset),
            ).fetchall()
        return [_connection(r) for r in rows], total

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
            f"SELECT {_CONNECTION_COLUMNS} FROM connections WHERE company_id = ? AND id = ?",
            (company_id, connection_id),
        ).fetchone()
        return None if row is None else _connection(row)

    def _active_connection(
        self, db: sqlite3.Connection, company_id: str, integration_key: str
    ) -> ConnectionRecord | None:
        row = db.execute(
            f"SELECT {_CONNECTION_COLUMNS} FROM connections WHERE company_id = ? "
            "AND integration_key = ? AND status IN ('CONNECTED', 'ERROR')",
            (company_id, integration_key),
        ).fetchone()
        return None if row is None else _connection(row)

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
        with self._write() as db:
            connection = self._connection_of(db, company_id, connection_id)
            if connection.status == ConnectionStatus.DISCONNECTED:
                return connection
            return self._set_status(db, connection, ConnectionStatus.DISCONNECTED)

    def delete_connection(self, company_id: str, connection_id: str) -> None:
        with self._write() as db:
            self._require_company(db, company_id)
            cursor = db.execute(
                "DELETE FROM connections WHERE company_id = ? AND id = ?",
                (company_id, connection_id),
            )
            if cursor.rowcount == 0:
                raise NotFound("Connection not found")

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
        (recovery). Conflict if that would make a second active connection."""
        status = ConnectionStatus(status)
        with self._write() as db:
            connection = self._connection_of(db, company_id, connection_id)
            if status in ACTIVE_STATUSES:
                self._refuse_second_active(db, connection)
            if status == ConnectionStatus.ERROR:
                code = error_code or DEFAULT_ERROR_CODE
                message = error_message or default_error_message(connection.integration_key, code)
                return self._set_status(db, connection, status, error=(code, message))
            return self._set_status(db, connection, status)

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
                _ts(now),
                code,
                message,
                None if occurred is None else _ts(occurred),
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

    def start_authorization(self, company_id: str, integration_key: str) -> AuthorizationRecord:
        """A pending hand-off for a new connection of `integration_key`.
        Conflict if the company has a CONNECTED or ERROR one; if it has a
        DISCONNECTED one, completing reconnects it."""
        if integration_key not in INTEGRATION_NAMES:
            raise ValueError(f"unknown integration {integration_key!r}")
        integration_key = str(integration_key)
        with self._write() as db:
            self._require_company(db, company_id)
            active = self._active_connection(db, company_id, integration_key)
            if active is not None:
                platform = INTEGRATION_NAMES[integration_key]
                raise Conflict(
                    f"The company already has a {active.status} {platform} connection "
                    f"({active.id}); unlink it or use its authorize call to reconnect"
                )
            target = self._latest_disconnected(db, company_id, integration_key)
            return self._insert_authorization(db, company_id, integration_key, target)

    def reauthorize(self, company_id: str, connection_id: str) -> AuthorizationRecord:
        """A pending hand-off that reconnects this DISCONNECTED or ERROR
        connection. Conflict if it is CONNECTED."""
        with self._write() as db:
            connection = self._connection_of(db, company_id, connection_id)
            if connection.status == ConnectionStatus.CONNECTED:
                raise Conflict("The connection is already connected")
            return self._insert_authorization(
                db, company_id, connection.integration_key, connection.id
            )

    def _insert_authorization(
        self,
        db: sqlite3.Connection,
        company_id: str,
        integration_key: str,
        connection_id: str | None,
    ) -> AuthorizationRecord:
        now = self._clock()
        record = AuthorizationRecord(
            id=self._new_id(),
            company_id=company_id,
            integration_key=str(integration_key),
            connection_id=connection_id,
            status=AuthorizationStatus.PENDING,
            token=self._new_token(),
            created_at=now,
            expires_at=now + self.link_ttl,
            used_at=None,
        )
        db.execute(
            f"INSERT INTO authorizations ({_AUTHORIZATION_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.company_id,
                record.integration_key,
                record.connection_id,
                str(record.status),
                record.token,
                _ts(record.created_at),
                _ts(record.expires_at),
                None,
            ),
        )
        return record

    def _authorization(self, row: Sequence) -> AuthorizationRecord:
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
            used_at=_dt(row[8]),
        )

    def get_authorization(self, company_id: str, authorization_id: str) -> AuthorizationRecord:
        with self._read() as db:
            self._require_company(db, company_id)
            row = db.execute(
                f"SELECT {_AUTHORIZATION_COLUMNS} FROM authorizations "
                "WHERE id = ? AND company_id = ?",
                (authorization_id, company_id),
            ).fetchone()
        if row is None:
            raise NotFound("Authorization not found")
        return self._authorization(row)

    def complete_authorization(self, authorization_id: str, *, allow: bool) -> AuthorizationRecord:
        """What the customer's Allow or Deny click does.

        Allow reconnects the connection the authorization names (or, if it
        has none, a DISCONNECTED one of that integration) or creates one, as
        CONNECTED, and marks the authorization COMPLETED. Deny marks it
        DECLINED. Gone if it was used or has expired; Conflict if allowing
        would make a second active connection. On a refusal nothing changes.
        """
        with self._write() as db:
            row = db.execute(
                f"SELECT {_AUTHORIZATION_COLUMNS} FROM authorizations WHERE id = ?",
                (authorization_id,),
            ).fetchone()
            if row is None:
                raise NotFound("Authorization not found")
            authorization = self._authorization(row)
            if authorization.status == AuthorizationStatus.EXPIRED:
                raise Gone("This authorization link has expired")
            if authorization.status != AuthorizationStatus.PENDING:
                raise Gone("This authorization link has already been used")
            now = self._clock()
            if not allow:
                status, connection_id = AuthorizationStatus.DECLINED, authorization.connection_id
            else:
                status = AuthorizationStatus.COMPLETED
                connection_id = self._connect(db, authorization, now)
            db.execute(
                "UPDATE authorizations SET status = ?, used_at = ?, connection_id = ? WHERE id = ?",
                (str(status), _ts(now), connection_id, authorization.id),
            )
            return replace(authorization, status=status, used_at=now, connection_id=connection_id)

    def _connect(
        self, db: sqlite3.Connection, authorization: AuthorizationRecord, now: datetime
    ) -> str:
        """Make the authorization's connection CONNECTED; returns its id."""
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
            return target.id
        if self._active_connection(db, company_id, key) is not None:
            platform = INTEGRATION_NAMES.get(key, key)
            raise Conflict(f"The company is already connected to {platform}")
        connection_id = self._new_id()
        db.execute(
            f"INSERT INTO connections ({_CONNECTION_COLUMNS}) "
            "VALUES (?, ?, ?, 'CONNECTED', ?, ?, NULL, NULL, NULL, NULL)",
            (connection_id, company_id, key, _ts(now), _ts(now)),
        )
        return connection_id

    # -------------------------------------------------------- link pages

    def resolve_link(self, token: str) -> LinkTarget | None:
        """The company or authorization a Link page token belongs to."""
        with self._read() as db:
            row = db.execute(
                f"SELECT {_COMPANY_COLUMNS} FROM companies WHERE link_token = ?", (token,)
            ).fetchone()
            if row is not None:
                return LinkTarget(company=self._company_with_connections(db, row[0]))
            row = db.execute(
                f"SELECT {_AUTHORIZATION_COLUMNS} FROM authorizations WHERE token = ?", (token,)
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
        with self._write() as db:
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
            return self._insert_authorization(db, company_id, integration_key, target)

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
            expired = _ts(now - IDEMPOTENCY_TTL)
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
                (key_hash, idempotency_key, method, path, body_hash, _ts(now)),
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

    def seed(self, n: int, *, connections_per_company: int = 1, seed: int | None = None) -> int:
        """Add `n` demo companies, each with `connections_per_company`
        connections to distinct integrations. With `seed`, names,
        descriptions, dates and statuses are reproducible. Returns `n`."""
        if not 1 <= n <= SEED_MAX:
            raise ValueError(f"n must be 1 to {SEED_MAX:,}")
        if not 0 <= connections_per_company <= len(INTEGRATION_NAMES):
            raise ValueError(f"connections_per_company must be 0 to {len(INTEGRATION_NAMES)}")
        rng = random.Random(seed)
        stamps = SeedTimestamps(self._clock())
        done = 0
        while done < n:
            chunk = min(SEED_CHUNK, n - done)
            # Built before taking the write lock: other writers wait only for the inserts.
            companies, connections = demo_rows(
                rng, chunk, connections_per_company, stamps, self._new_id, self._new_token
            )
            with self._write() as db:
                (last_seq,) = db.execute("SELECT coalesce(max(seq), 0) FROM companies").fetchone()
                numbered = [(last_seq + i, *row) for i, row in enumerate(companies, 1)]
                db.executemany(
                    f"INSERT INTO companies (seq, {_COMPANY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    numbered,
                )
                db.executemany(
                    "INSERT INTO companies_fts (rowid, name) VALUES (?, ?)",
                    [(row[0], row[2]) for row in numbered],
                )
                db.executemany(
                    f"INSERT INTO connections ({_CONNECTION_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    connections,
                )
            done += chunk
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
                return _ts(company.created_at + offset * _MICROSECOND)

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
                f"INSERT INTO connections ({_CONNECTION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return count


def _write_private_file(path: Path, text: str) -> None:
    """Write `text` readable by the owner only, replacing `path` atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _company_filter(db: sqlite3.Connection, query: str, window: int) -> tuple[str, tuple, int]:
    """WHERE clause and parameters for `query`, and how many companies match.
    `window` is how many ordered matches the page needs (offset + size)."""
    if not query:
        (total,) = db.execute("SELECT count(*) FROM companies").fetchone()
        return "", (), total
    if _UUID.fullmatch(query):
        # The company with that id, or (in theory) names containing the text.
        where = (
            "WHERE id = ? OR seq IN (SELECT rowid FROM companies_fts WHERE companies_fts MATCH ?)"
        )
        params: tuple = (query.lower(), _fts_phrase(query))
    elif len(query) < _TRIGRAM_MIN:
        where, params = "WHERE name LIKE ? ESCAPE '\\'", (_like_pattern(query),)
    else:
        params = (_fts_phrase(query),)
        (total,) = db.execute(
            "SELECT count(*) FROM companies_fts WHERE companies_fts MATCH ?", params
        ).fetchone()
        (everyone,) = db.execute("SELECT count(*) FROM companies").fetchone()
        # Two plans. Few matches: fetch them all from the index and sort
        # (cost grows with the matches). Many: walk the ordering index and
        # test each row against the matches (cost grows with the rows
        # walked, about window * everyone / total). Unary + on seq stops
        # SQLite from driving the query by the IN list, forcing the walk.
        walk = window * everyone < 2 * total * total
        column = "+seq" if walk else "seq"
        where = f"WHERE {column} IN (SELECT rowid FROM companies_fts WHERE companies_fts MATCH ?)"
        return where, params, total
    (total,) = db.execute(f"SELECT count(*) FROM companies {where}", params).fetchone()
    return where, params, total
