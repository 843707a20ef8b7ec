"""Connections: list, unlink, what the accounting software does (simulate), delete."""

from __future__ import annotations

import sqlite3

from s2b_tui.api.models import (
    Actor,
    ConnectionStatus,
    EventType,
)
from s2b_tui.sandbox.records import (
    DEFAULT_ERROR_CODE,
    ConnectionRecord,
    default_error_message,
)
from s2b_tui.sandbox.sql import (
    CONNECTION_COLUMNS,
    connection_row,
    platform_name,
)
from s2b_tui.sandbox.store.base import (
    ACTIVE_STATUSES,
    StoreBase,
)


class ConnectionsMixin(StoreBase):
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
