"""Companies: create, edit, rotate their link, list with filters and counts, delete."""

from __future__ import annotations

from collections.abc import Sequence

from s2b_tui.api.models import (
    Actor,
    CompanyState,
    EventType,
)
from s2b_tui.sandbox.records import (
    CompanyPage,
    CompanyRecord,
    ConnectionRecord,
    NotFound,
)
from s2b_tui.sandbox.sql import (
    COMPANY_COLUMNS,
    CONNECTION_COLUMNS,
    COUNT_CAP,
    ORDER_BY,
    company_filter,
    company_row,
    connection_row,
    ts,
)
from s2b_tui.sandbox.store.base import (
    StoreBase,
)


class CompaniesMixin(StoreBase):
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
