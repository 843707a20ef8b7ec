-- The schema of the first revision (version 1), to test migrating its data dirs.
CREATE TABLE api_keys (
    key_hash   TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) WITHOUT ROWID;

CREATE TABLE companies (
    seq         INTEGER PRIMARY KEY,  -- insertion order; the rowid full-text search points at
    id          TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL,
    link_token  TEXT NOT NULL UNIQUE
);
-- Both indexes end with the rowid (seq), the tie-breaker of every ordering.
CREATE INDEX companies_by_name ON companies(name COLLATE NOCASE);
CREATE INDEX companies_by_created ON companies(created_at);

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
    status          TEXT NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'DECLINED')),
    token           TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);
CREATE INDEX authorizations_by_company ON authorizations(company_id);

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
