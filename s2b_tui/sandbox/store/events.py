"""The events feed and company timelines; reset, which empties everything."""

from __future__ import annotations

from collections.abc import Sequence

from s2b_tui.sandbox.records import (
    EventFeed,
    EventRecord,
    Gone,
)
from s2b_tui.sandbox.sql import (
    EVENT_COLUMNS,
    event_conditions,
    event_row,
    last_sequence,
    where_clause,
)
from s2b_tui.sandbox.store.base import (
    EVENTS_PAGE_MAX,
    StoreBase,
)


class EventsMixin(StoreBase):
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
            # The feed moves one past its last sequence, and that is the new
            # floor: every cursor from before the reset, a caught-up one too,
            # is now below it and answers 410, so no watcher keeps deleted rows.
            floor = last + 1
            # (sqlite_sequence has no key on name: update its row, or add it.)
            if not db.execute(
                "UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", (floor,)
            ).rowcount:
                db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (floor,))
            db.execute("UPDATE meta SET value = ? WHERE name = 'events_floor'", (floor,))

    # ------------------------------------------------------- idempotency
