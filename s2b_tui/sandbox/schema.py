"""The store's SQLite schema, and how it is applied to a fresh database.

`SCHEMA_VERSION` is kept in the file's `PRAGMA user_version`: `SandboxStore`
creates the tables on a new file, brings a file of the first revision to this
one in place (`MIGRATE_1_TO_2`), and refuses a file of any other version.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE api_keys (
    key_hash   TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) WITHOUT ROWID;

CREATE TABLE companies (
    seq              INTEGER PRIMARY KEY,  -- insertion order; the rowid full-text search points at
    id               TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    description      TEXT,
    created_at       TEXT NOT NULL,
    link_token       TEXT NOT NULL UNIQUE,
    contact_email    TEXT,
    -- Derived from the company's connections and authorizations (API.md,
    -- connectionState); kept in step by the store in the transaction of
    -- every change, so filters and counts never recompute it.
    state            TEXT NOT NULL DEFAULT 'NOT_CONNECTED' CHECK (state IN
                         ('ERROR', 'CONNECTED', 'PENDING', 'DISCONNECTED', 'NOT_CONNECTED')),
    state_changed_at TEXT NOT NULL
);
-- Every index ends with the rowid (seq), the tie-breaker of every ordering.
CREATE INDEX companies_by_name ON companies(name COLLATE NOCASE);
CREATE INDEX companies_by_created ON companies(created_at);
CREATE INDEX companies_by_changed ON companies(state_changed_at);
CREATE INDEX companies_by_state_created ON companies(state, created_at);
CREATE INDEX companies_by_state_name ON companies(state, name COLLATE NOCASE);
CREATE INDEX companies_by_state_changed ON companies(state, state_changed_at);

-- How many companies are in each state: exact counts without a scan.
CREATE TABLE state_counts (
    state TEXT PRIMARY KEY,
    n     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO state_counts (state, n) VALUES
    ('ERROR', 0), ('CONNECTED', 0), ('PENDING', 0), ('DISCONNECTED', 0), ('NOT_CONNECTED', 0);

-- Case-insensitive substring search on names. Rows are added by the code
-- that inserts companies (a per-row trigger makes bulk seeding 3x slower);
-- the delete trigger keeps every deletion path in step.
CREATE VIRTUAL TABLE companies_fts USING fts5(
    name, content='companies', content_rowid='seq', tokenize='trigram', columnsize=0
);
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
    INSERT INTO companies_fts(companies_fts, rowid, name) VALUES ('delete', old.seq, old.name);
END;

CREATE TABLE connections (
    company_id        TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    id                TEXT NOT NULL,
    integration_key   TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('CONNECTED', 'ERROR', 'DISCONNECTED')),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_sync_at      TEXT,
    error_code        TEXT,
    error_message     TEXT,
    error_occurred_at TEXT,
    -- Clustered by company: a company's connections are stored together and
    -- need no separate index.
    PRIMARY KEY (company_id, id)
) WITHOUT ROWID;
-- API.md: at most one CONNECTED or ERROR connection per company and integration.
CREATE UNIQUE INDEX connections_one_active ON connections(company_id, integration_key)
    WHERE status IN ('CONNECTED', 'ERROR');

CREATE TABLE authorizations (
    id              TEXT PRIMARY KEY,
    company_id      TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    integration_key TEXT NOT NULL,
    -- The connection to reconnect, or the one created when it completed.
    -- No foreign key: a completed authorization keeps naming a deleted connection.
    connection_id   TEXT,
    -- A PENDING row past expires_at reads as EXPIRED everywhere, and is
    -- stored as EXPIRED (with its event) by the first read or write after.
    status          TEXT NOT NULL CHECK (status IN
                        ('PENDING', 'COMPLETED', 'DECLINED', 'EXPIRED', 'CANCELLED')),
    token           TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);
CREATE INDEX authorizations_by_company ON authorizations(company_id);
CREATE INDEX authorizations_by_created ON authorizations(created_at);
CREATE INDEX authorizations_by_status ON authorizations(status, expires_at);
-- API.md: at most one PENDING authorization per company and integration.
CREATE UNIQUE INDEX authorizations_one_pending ON authorizations(company_id, integration_key)
    WHERE status = 'PENDING';

-- The events feed. AUTOINCREMENT: a sequence is never handed out twice, even
-- after a reset or pruning emptied the table, so a watcher's cursor stays valid.
CREATE TABLE events (
    sequence         INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL,
    type             TEXT NOT NULL,
    occurred_at      TEXT NOT NULL,
    recorded_at      TEXT NOT NULL,
    actor            TEXT NOT NULL,
    company_id       TEXT NOT NULL,
    company_name     TEXT,
    connection_id    TEXT,
    authorization_id TEXT,
    integration_key  TEXT,
    from_status      TEXT,
    to_status        TEXT,
    detail           TEXT
);
CREATE INDEX events_by_company ON events(company_id, sequence);

-- Company links replaced by `POST /companies/{id}/link`: they answer 410.
CREATE TABLE retired_links (
    token      TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    retired_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX retired_links_by_company ON retired_links(company_id);

-- Settings of the data itself: `events_floor`, the newest sequence that is
-- no longer kept (an `after` below it answers 410).
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('events_floor', 0);

CREATE TABLE idempotency (
    key_hash        TEXT NOT NULL,  -- the API key the request came with
    idempotency_key TEXT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    body_hash       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    status          INTEGER,        -- NULL while the first request is in flight
    content_type    TEXT,
    body            BLOB,
    PRIMARY KEY (key_hash, idempotency_key)
) WITHOUT ROWID;
CREATE INDEX idempotency_by_age ON idempotency(created_at);
"""

# A data directory of the first revision, brought to the portfolio revision
# in place (its companies, links and keys keep working).
MIGRATE_1_TO_2 = """
ALTER TABLE companies ADD COLUMN contact_email TEXT;
ALTER TABLE companies ADD COLUMN state TEXT NOT NULL DEFAULT 'NOT_CONNECTED' CHECK (state IN
    ('ERROR', 'CONNECTED', 'PENDING', 'DISCONNECTED', 'NOT_CONNECTED'));
ALTER TABLE companies ADD COLUMN state_changed_at TEXT NOT NULL DEFAULT '';
UPDATE companies SET state_changed_at = created_at;
CREATE INDEX companies_by_changed ON companies(state_changed_at);
CREATE INDEX companies_by_state_created ON companies(state, created_at);
CREATE INDEX companies_by_state_name ON companies(state, name COLLATE NOCASE);
CREATE INDEX companies_by_state_changed ON companies(state, state_changed_at);
CREATE TABLE state_counts (
    state TEXT PRIMARY KEY,
    n     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO state_counts (state, n) VALUES
    ('ERROR', 0), ('CONNECTED', 0), ('PENDING', 0), ('DISCONNECTED', 0), ('NOT_CONNECTED', 0);
CREATE TABLE authorizations_v2 (
    id              TEXT PRIMARY KEY,
    company_id      TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    integration_key TEXT NOT NULL,
    connection_id   TEXT,
    status          TEXT NOT NULL CHECK (status IN
                        ('PENDING', 'COMPLETED', 'DECLINED', 'EXPIRED', 'CANCELLED')),
    token           TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);
INSERT INTO authorizations_v2 SELECT * FROM authorizations;
DROP TABLE authorizations;
ALTER TABLE authorizations_v2 RENAME TO authorizations;
CREATE INDEX authorizations_by_company ON authorizations(company_id);
CREATE INDEX authorizations_by_created ON authorizations(created_at);
CREATE INDEX authorizations_by_status ON authorizations(status, expires_at);
CREATE TABLE events (
    sequence         INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL,
    type             TEXT NOT NULL,
    occurred_at      TEXT NOT NULL,
    recorded_at      TEXT NOT NULL,
    actor            TEXT NOT NULL,
    company_id       TEXT NOT NULL,
    company_name     TEXT,
    connection_id    TEXT,
    authorization_id TEXT,
    integration_key  TEXT,
    from_status      TEXT,
    to_status        TEXT,
    detail           TEXT
);
CREATE INDEX events_by_company ON events(company_id, sequence);
CREATE TABLE retired_links (
    token      TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    retired_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX retired_links_by_company ON retired_links(company_id);
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('events_floor', 0);
-- Only the newest PENDING link per company and integration stays live.
UPDATE authorizations SET status = 'CANCELLED'
    WHERE status = 'PENDING' AND EXISTS (
        SELECT 1 FROM authorizations AS newer
        WHERE newer.company_id = authorizations.company_id
          AND newer.integration_key = authorizations.integration_key
          AND newer.status = 'PENDING'
          AND (newer.created_at, newer.id) > (authorizations.created_at, authorizations.id));
CREATE UNIQUE INDEX authorizations_one_pending ON authorizations(company_id, integration_key)
    WHERE status = 'PENDING';
"""


def split_sql(script: str) -> list[str]:
    """The statements of `script`; a trigger body's `;` stays inside its statement."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        if line.startswith("--") or not line.strip():
            continue
        current.append(line)
        text = "\n".join(current)
        if line.rstrip().endswith(";") and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    return statements
