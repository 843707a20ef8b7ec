"""Demo data in bulk: companies with their history, and a long connection history."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from operator import itemgetter

from s2b_tui.api.models import (
    INTEGRATION_NAMES,
    Actor,
    ConnectionStatus,
    EventType,
)
from s2b_tui.sandbox.demo_data import SeedTimestamps, demo_rows, state_mix
from s2b_tui.sandbox.sql import (
    AUTHORIZATION_COLUMNS,
    COMPANY_COLUMNS,
    CONNECTION_COLUMNS,
    ts,
)
from s2b_tui.sandbox.store.base import (
    _CACHE_KIB,
    StoreBase,
)

SEED_MAX = 1_000_000
#: Most DISCONNECTED connections `seed_connection_history` adds at once.
HISTORY_MAX = 10_000
#: Companies per seed transaction: bounds memory and how long other writers wait.
SEED_CHUNK = 50_000
_SEED_CACHE_KIB = 1024 * 1024
_MICROSECOND = timedelta(microseconds=1)


class SeedingMixin(StoreBase):
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
