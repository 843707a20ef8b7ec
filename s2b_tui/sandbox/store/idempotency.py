"""Stored replies of requests made with an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from s2b_tui.sandbox.records import (
    IdempotencyOutcome,
    IdempotencyState,
)
from s2b_tui.sandbox.sql import (
    ts,
)
from s2b_tui.sandbox.store.base import (
    IDEMPOTENCY_ABANDONED_AFTER,
    IDEMPOTENCY_TTL,
    StoreBase,
)


class IdempotencyMixin(StoreBase):
    def idempotency_begin(
        self, key_hash: str, idempotency_key: str, method: str, path: str, body_hash: str
    ) -> IdempotencyOutcome:
        """Claim an idempotency key for a request, or say why not.

        NEW means the caller must run the request and then call
        `idempotency_finish` (or `idempotency_abandon` if it must not be
        stored, e.g. a 5xx)."""
        now = self._clock()
        with self._write() as db:
            expired = ts(now - IDEMPOTENCY_TTL)
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
                (key_hash, idempotency_key, method, path, body_hash, ts(now)),
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
