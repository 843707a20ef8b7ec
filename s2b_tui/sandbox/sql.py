"""The SQL the store's reads share: column lists and row converters, the
orderings, API.md's connectionState rules, and how a company search becomes a
WHERE clause with a count (exact, or a lower bound past `COUNT_CAP`).

No transactions here: `SandboxStore` runs these inside its own.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from s2b_tui.api.models import INTEGRATION_NAMES
from s2b_tui.sandbox.records import CompanyRecord, ConnectionRecord, EventRecord

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Trigram full-text search needs at least three characters; shorter
# queries fall back to LIKE.
_TRIGRAM_MIN = 3


def ts(moment: datetime) -> str:
    # Fixed width, so text order is time order in indexes and comparisons.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(text: str) -> str:
    # One quoted phrase: for the trigram tokenizer, a substring match.
    return '"' + text.replace('"', '""') + '"'


ORDER_BY = {
    "name": "name COLLATE NOCASE ASC, seq ASC",
    "-name": "name COLLATE NOCASE DESC, seq DESC",
    "createdAt": "created_at ASC, seq ASC",
    "-createdAt": "created_at DESC, seq DESC",
    "stateChangedAt": "state_changed_at ASC, seq ASC",
    "-stateChangedAt": "state_changed_at DESC, seq DESC",
}

COMPANY_COLUMNS = (
    "id, name, description, created_at, link_token, contact_email, state, state_changed_at"
)
CONNECTION_COLUMNS = (
    "id, company_id, integration_key, status, created_at, updated_at, last_sync_at, "
    "error_code, error_message, error_occurred_at"
)
AUTHORIZATION_COLUMNS = (
    "id, company_id, integration_key, connection_id, status, token, created_at, expires_at, used_at"
)
# The same, from `authorizations a JOIN companies c`, with the company's name last.
AUTHORIZATION_JOINED = (
    ", ".join(f"a.{column.strip()}" for column in AUTHORIZATION_COLUMNS.split(",")) + ", c.name"
)
EVENT_COLUMNS = (
    "sequence, id, type, occurred_at, actor, company_id, company_name, connection_id, "
    "authorization_id, integration_key, from_status, to_status, detail"
)

#: A company's connectionState from its rows (API.md: the first rule that matches).
STATE_OF_COMPANY = """
SELECT CASE
    WHEN EXISTS (SELECT 1 FROM connections WHERE company_id = :company AND status = 'ERROR')
        THEN 'ERROR'
    WHEN EXISTS (SELECT 1 FROM connections WHERE company_id = :company AND status = 'CONNECTED')
        THEN 'CONNECTED'
    WHEN EXISTS (SELECT 1 FROM authorizations WHERE company_id = :company
                 AND status = 'PENDING' AND expires_at > :now)
        THEN 'PENDING'
    WHEN EXISTS (SELECT 1 FROM connections WHERE company_id = :company)
        THEN 'DISCONNECTED'
    ELSE 'NOT_CONNECTED'
END
"""

#: How many matches of a `query` are counted before the count becomes a lower
#: bound (API.md: exact whenever fewer than 1,000 match).
COUNT_CAP = 1000
_ID_PREFIX = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f-]{0,27})?")


def connection_row(row: Sequence) -> ConnectionRecord:
    return ConnectionRecord(
        id=row[0],
        company_id=row[1],
        integration_key=row[2],
        status=row[3],
        created_at=datetime.fromisoformat(row[4]),
        updated_at=datetime.fromisoformat(row[5]),
        last_sync_at=dt(row[6]),
        error_code=row[7],
        error_message=row[8],
        error_occurred_at=dt(row[9]),
    )


def company_row(row: Sequence, connections: tuple[ConnectionRecord, ...] = ()) -> CompanyRecord:
    return CompanyRecord(
        id=row[0],
        name=row[1],
        description=row[2],
        created_at=datetime.fromisoformat(row[3]),
        link_token=row[4],
        connections=connections,
        contact_email=row[5],
        state=row[6],
        state_changed_at=datetime.fromisoformat(row[7]),
    )


def event_row(row: Sequence) -> EventRecord:
    return EventRecord(row[0], row[1], row[2], datetime.fromisoformat(row[3]), *row[4:])


class Filter(NamedTuple):
    where: str  # "" or "WHERE …" over `companies`
    params: tuple
    total: int
    lower_bound: bool


def company_filter(
    db: sqlite3.Connection,
    query: str,
    window: int,
    *,
    states: tuple[str, ...] = (),
    name: str | None = None,
    cap: int | None = None,
) -> Filter:
    """WHERE clause and parameters for a company search, and how many match.

    `window` is how many ordered matches the page needs (offset + size).
    With a `query` (or `name`), counting stops after `cap` matches; the
    total is then a lower bound. Without, the count is exact and free
    (`state_counts`)."""
    conditions: list[str] = []
    params: list = []
    if states:
        conditions.append(f"state IN ({','.join('?' * len(states))})")
        params.extend(states)
    if name is not None:
        wanted = name.strip()
        if len(wanted) >= _TRIGRAM_MIN:
            conditions.append(
                "seq IN (SELECT rowid FROM companies_fts WHERE companies_fts MATCH ?)"
            )
            params.append(_fts_phrase(wanted))
        conditions.append("casefold(name) = ?")
        params.append(wanted.casefold())
    if not query and name is None:
        if states:
            marks = ",".join("?" * len(states))
            (total,) = db.execute(
                f"SELECT coalesce(sum(n), 0) FROM state_counts WHERE state IN ({marks})", states
            ).fetchone()
        else:
            (total,) = db.execute("SELECT coalesce(sum(n), 0) FROM state_counts").fetchone()
        return Filter(where_clause(conditions), tuple(params), total, False)
    if query:
        lowered = query.lower()
        if _UUID.fullmatch(query):
            # The company with that id, or (in theory) names containing the text.
            conditions.append(
                "(id = ? OR seq IN (SELECT rowid FROM companies_fts WHERE companies_fts MATCH ?))"
            )
            params.extend((lowered, _fts_phrase(query)))
        elif _ID_PREFIX.fullmatch(lowered):
            # A short id (the first 8+ hex digits): a range of the id index.
            conditions.append(
                "seq IN (SELECT seq FROM companies WHERE id >= ? AND id < ? "
                "UNION SELECT rowid FROM companies_fts WHERE companies_fts MATCH ?)"
            )
            params.extend((lowered, lowered + "\uffff", _fts_phrase(query)))
        elif len(query) < _TRIGRAM_MIN:
            conditions.append("name LIKE ? ESCAPE '\\'")
            params.append(_like_pattern(query))
        else:
            phrase = _fts_phrase(query)
            limit = -1 if cap is None else cap + 1
            (matches,) = db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM companies_fts "
                "WHERE companies_fts MATCH ? LIMIT ?)",
                (phrase, limit),
            ).fetchone()
            everyone = db.execute("SELECT coalesce(sum(n), 0) FROM state_counts").fetchone()[0]
            # Two plans. Few matches: fetch them all from the index and sort
            # (cost grows with the matches). Many: walk the ordering index and
            # test each row against the matches (cost grows with the rows
            # walked, about window * everyone / matches). Unary + on seq stops
            # SQLite from driving the query by the IN list, forcing the walk.
            walk = window * everyone < 2 * matches * matches
            column = "+seq" if walk else "seq"
            conditions.append(
                f"{column} IN (SELECT rowid FROM companies_fts WHERE companies_fts MATCH ?)"
            )
            params.append(phrase)
    where = where_clause(conditions)
    limit = -1 if cap is None else cap + 1
    (total,) = db.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM companies {where} LIMIT ?)", (*params, limit)
    ).fetchone()
    if cap is not None and total > cap:
        return Filter(where, tuple(params), cap, True)
    return Filter(where, tuple(params), total, False)


def where_clause(conditions: list[str]) -> str:
    return "WHERE " + " AND ".join(conditions) if conditions else ""


def event_conditions(company_id: str | None, types: Sequence[str]) -> tuple[list[str], list]:
    conditions: list[str] = []
    params: list = []
    if company_id is not None:
        conditions.append("company_id = ?")
        params.append(company_id)
    wanted = tuple(dict.fromkeys(types))
    if wanted:
        conditions.append(f"type IN ({','.join('?' * len(wanted))})")
        params.extend(wanted)
    return conditions, params


def last_sequence(db: sqlite3.Connection) -> int:
    """The newest sequence ever handed out (kept by AUTOINCREMENT through deletes)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return 0 if row is None else row[0]


def casefold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def platform_name(integration_key: str | None) -> str:
    if integration_key is None:
        return "accounting software"
    return INTEGRATION_NAMES.get(integration_key, integration_key)
