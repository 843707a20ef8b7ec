"""The API keys a sandbox issued: only their SHA-256 is stored."""

from __future__ import annotations

from s2b_tui.api.keys import KEY_PATTERN
from s2b_tui.sandbox.sql import (
    ts,
)
from s2b_tui.sandbox.store.base import (
    StoreBase,
    key_digest,
)


class KeysMixin(StoreBase):
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
                (ts(self._clock()), key_digest(raw_key)),
            )
            return cursor.rowcount == 1

    # ------------------------------------------------------ derived state
