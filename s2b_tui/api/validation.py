"""Input rules of API.md, shared by the sandbox (which enforces them) and the
console (which checks as the user types, before any request).

Each check returns the message for the field, or None when the value is fine.
The messages are the ones the sandbox puts in its 422 `validation` list.
"""

from __future__ import annotations

import re

NAME_MAX = 100
DESCRIPTION_MAX = 500
PAGE_SIZE_MAX = 500

# C0 controls, DEL and C1 controls: nothing that could drive a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")
# Half of a UTF-16 pair on its own: not text, and not encodable as UTF-8.
# JSON can carry one as an escape ("\ud800"); it must never reach storage.
_SURROGATE = re.compile("[\ud800-\udfff]")
# What trimming removes: the Unicode White_Space characters. (str.strip()
# would also remove the C0 separators \x1c-\x1f, which are controls, not
# spaces, and must be refused like any other control character.)
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def has_control_characters(text: str, *, allow_newline: bool = False) -> bool:
    pattern = _CONTROL_BUT_NEWLINE if allow_newline else _CONTROL
    return pattern.search(text) is not None


def has_unpaired_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def strip_control_characters(text: str) -> str:
    """Drop C0/C1 controls and DEL: for showing untrusted text in a terminal."""
    return _CONTROL.sub("", text)


_NOT_TEXT = "must be valid Unicode text (it has an unpaired UTF-16 surrogate)"


def normalize_name(name: str) -> str:
    """Names are trimmed before they are checked and stored."""
    return name.strip(WHITESPACE)


def name_problem(name: str) -> str | None:
    value = normalize_name(name)
    if not value:
        return "must not be empty"
    if has_control_characters(value):
        return "must not contain control characters"
    if has_unpaired_surrogates(value):
        return _NOT_TEXT
    if len(value) > NAME_MAX:
        return f"must be at most {NAME_MAX} characters (it is {len(value):,})"
    return None


def description_problem(description: str | None) -> str | None:
    if description is None:
        return None
    if has_control_characters(description, allow_newline=True):
        return "must not contain control characters other than line breaks"
    if has_unpaired_surrogates(description):
        return _NOT_TEXT
    if len(description) > DESCRIPTION_MAX:
        return f"must be at most {DESCRIPTION_MAX} characters (it is {len(description):,})"
    return None


def idempotency_key_problem(key: str) -> str | None:
    if _IDEMPOTENCY_KEY.fullmatch(key) is None:
        return "must be 1 to 255 printable ASCII characters"
    return None


EMAIL_MAX = 254


def email_problem(email: str | None) -> str | None:
    """A contact email (portfolio revision): at most 254 characters, one `@`
    with text on both sides, no spaces or control characters. Not trimmed."""
    if email is None:
        return None
    if len(email) > EMAIL_MAX:
        return f"must be at most {EMAIL_MAX} characters (it is {len(email):,})"
    if has_control_characters(email):
        return "must not contain control characters"
    if has_unpaired_surrogates(email):
        return _NOT_TEXT
    if any(character in WHITESPACE for character in email):
        return "must not contain spaces"
    local, _, domain = email.partition("@")
    if not local or not domain or "@" in domain:
        return "must be an email address: one @ with text on both sides"
    return None
