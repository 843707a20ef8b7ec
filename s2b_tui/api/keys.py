"""API keys: parsing, mode and masking. A key is a secret: it never appears
in a repr, a log line, an exception or on screen, only masked."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import SecretStr

from s2b_tui.api.errors import InvalidApiKeyError

KEY_PATTERN = re.compile(r"sk_(test|live)_[A-Za-z0-9]{16,}")


class ApiMode(StrEnum):
    TEST = "test"
    LIVE = "live"


def mask_key(key: str | SecretStr | None) -> str:
    """`sk_test_…wxyz`: the prefix and the last four characters, never more."""
    if key is None:
        return "no key"
    raw = key.get_secret_value() if isinstance(key, SecretStr) else key
    match = re.match(r"sk_(test|live)_", raw)
    prefix = match.group(0) if match else ""
    rest = raw[len(prefix) :]
    if len(rest) < 8:
        return f"{prefix}…" if prefix else "…"
    return f"{prefix}…{rest[-4:]}"


class ApiKey:
    """A validated key. `str()` and `repr()` are masked; the raw value comes
    only from `secret()`, at the one place that writes the header."""

    __slots__ = ("_mode", "_value")

    def __init__(self, value: str | SecretStr) -> None:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        raw = raw.strip()
        match = KEY_PATTERN.fullmatch(raw)
        if match is None:
            raise InvalidApiKeyError(
                f"The API key {mask_key(raw)} is malformed: a key is sk_test_ or sk_live_ "
                "followed by at least 16 letters or digits. Check S2B_API_KEY."
            )
        self._value = SecretStr(raw)
        self._mode = ApiMode(match.group(1))

    @property
    def mode(self) -> ApiMode:
        return self._mode

    @property
    def is_live(self) -> bool:
        return self._mode is ApiMode.LIVE

    @property
    def masked(self) -> str:
        return mask_key(self._value)

    def secret(self) -> str:
        return self._value.get_secret_value()

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"ApiKey({self.masked!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other.secret() == self.secret()

    def __hash__(self) -> int:
        return hash(self.secret())

    def __reduce__(self):  # never pickle a secret by accident
        raise TypeError("ApiKey cannot be pickled")
