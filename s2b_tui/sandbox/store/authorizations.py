"""Authorizations (the links sent to customers): create, list, cancel, expire,
the customer's decision, and what a Link page token opens."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from s2b_tui.api.models import (
    INTEGRATION_NAMES,
    Actor,
    AuthorizationStatus,
    ConnectionStatus,
    EventType,
)
from s2b_tui.sandbox.records import (
    AuthorizationRecord,
    Conflict,
    Gone,
    LinkTarget,
    NotFound,
)
from s2b_tui.sandbox.sql import (
    AUTHORIZATION_COLUMNS,
    AUTHORIZATION_JOINED,
    COMPANY_COLUMNS,
    CONNECTION_COLUMNS,
    platform_name,
    ts,
    where_clause,
)
from s2b_tui.sandbox.store.base import (
    StoreBase,
)


class AuthorizationsMixin(StoreBase):
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
