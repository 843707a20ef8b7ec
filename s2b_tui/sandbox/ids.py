"""Random ids and link tokens for the sandbox's rows."""

from __future__ import annotations

import os
import secrets

# Hex digit -> RFC 4122 variant digit (8, 9, a or b) keeping its two low bits.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_uuid() -> str:
    """A random UUID4 string; same as str(uuid.uuid4()) at a third of the
    cost, which matters when seeding a million companies."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT_DIGIT[h[16]]}{h[17:20]}-{h[20:]}"


def new_link_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG


def new_uuids(count: int) -> list[str]:
    """`count` random UUID4 strings from one read of the OS CSPRNG: for rows
    made in bulk (a seed's events), several times cheaper than one by one."""
    h = os.urandom(16 * count).hex()
    variant = _VARIANT_DIGIT
    return [
        f"{h[k : k + 8]}-{h[k + 8 : k + 12]}-4{h[k + 13 : k + 16]}-"
        f"{variant[h[k + 16]]}{h[k + 17 : k + 20]}-{h[k + 20 : k + 32]}"
        for k in range(0, 32 * count, 32)
    ]
