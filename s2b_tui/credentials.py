"""Where a profile's API key is kept: the operating system's keyring, or,
where there is none, a file only the user can read.

The keyring (the `keyring` package) is imported only here, and only when a
key is stored, read or removed: never on the console's start-up without a
profile. Headless Linux has no keyring (`NoKeyringError`): the key then goes
to `<config dir>/keys/<profile>.key`, mode 0600 in a 0700 dir, with a
one-line warning. A keyring that exists but fails is an error: nothing is
stored, and the caller writes no profile.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from s2b_tui.profiles import FROM_FILE, FROM_KEYRING, warn, write_private

#: The keyring's service name; the profile's name is the account.
SERVICE = "s2b-tui"
_QUOTES = ("\"'", "\u2018\u2019", "\u201c\u201d", "``")
_KEY_SHAPE = re.compile(r"sk_(test|live)_[A-Za-z0-9]{16,}")


class KeyInputError(ValueError):
    """What was pasted is not a key; the message says what is wrong with it
    (and shows at most the key's masked form)."""


class KeyStoreError(RuntimeError):
    """The keyring exists but failed: nothing was stored."""


@dataclass(frozen=True)
class StoredKey:
    store: str  # FROM_KEYRING or FROM_FILE
    where: str  # for people: "the system keyring (…)" or the file's path
    path: Path | None = None  # the file, when the store is FROM_FILE


def clean_key(raw: str) -> str:
    """The key in what was pasted: surrounding whitespace and one pair of
    matching quotes around it are removed; anything else is refused clearly."""
    from s2b_tui.api.keys import mask_key

    text = raw.strip()
    if len(text) >= 2:
        for pair in _QUOTES:
            if text[0] in pair and text[-1] in pair:
                text = text[1:-1].strip()
                break
    if not text:
        raise KeyInputError("No key was given")
    if any(c.isspace() for c in text):
        raise KeyInputError(
            f"The key {mask_key(text)} has spaces or line breaks inside it: paste the key alone"
        )
    if _KEY_SHAPE.fullmatch(text) is None:
        if text.startswith(("pk_", "rk_")):
            reason = "it is not a secret key (sk_…)"
        elif not text.startswith(("sk_test_", "sk_live_")):
            reason = "a key starts with sk_test_ or sk_live_"
        else:
            reason = "after sk_test_ or sk_live_ a key has at least 16 letters or digits only"
        raise KeyInputError(f"The key {mask_key(text)} is malformed: {reason}")
    return text


def key_file(keys_dir: Path, profile: str) -> Path:
    return keys_dir / f"{profile}.key"


def describe_store(keys_dir: Path, profile: str, store: str) -> str:
    if store == FROM_FILE:
        return str(key_file(keys_dir, profile))
    return f"the system keyring (service {SERVICE!r}, account {profile!r})"


def store_key(keys_dir: Path, profile: str, key: str) -> StoredKey:
    """Store `key` for `profile`: in the keyring, else (no keyring) in a file.
    Raises KeyStoreError when the keyring fails; nothing is stored then."""
    keyring = _keyring()
    if keyring is not None:
        from keyring.errors import KeyringError, NoKeyringError

        try:
            keyring.set_password(SERVICE, profile, key)
            stored = keyring.get_password(SERVICE, profile)
        except NoKeyringError:
            pass  # below: the file
        except KeyringError as exc:
            _forget_quietly(keyring, profile)
            raise KeyStoreError(f"The system keyring failed: {exc}; nothing was stored") from None
        else:
            if stored != key:
                _forget_quietly(keyring, profile)
                raise KeyStoreError(
                    "The system keyring did not keep the key (reading it back gave something "
                    "else); nothing was stored"
                )
            backend = getattr(keyring.get_keyring(), "name", "keyring")
            return StoredKey(
                FROM_KEYRING,
                f"the system keyring ({backend}; service {SERVICE!r}, account {profile!r})",
            )
    path = key_file(keys_dir, profile)
    write_private(path, (key + "\n").encode("ascii"))
    warn(f"no system keyring here: the key is in {path} (readable only by you)")
    return StoredKey(FROM_FILE, str(path), path)


def load_key(keys_dir: Path, profile: str, store: str) -> str | None:
    """The stored key of `profile`, or None when it is not there (any more)."""
    if store == FROM_FILE:
        path = key_file(keys_dir, profile)
        try:
            st = path.stat()
            if os.name == "posix" and st.st_mode & 0o077:
                os.chmod(path, 0o600)
                warn(f"{path} was readable by others (mode {st.st_mode & 0o777:o}); made it 600")
            text = path.read_text("ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            warn(f"cannot read {path}: {exc}")
            return None
        return text or None
    keyring = _keyring()
    if keyring is None:
        return None
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(SERVICE, profile)
    except KeyringError as exc:  # NoKeyringError included: the keyring went away
        warn(f"cannot read the system keyring: {exc}")
        return None


def delete_key(keys_dir: Path, profile: str, store: str | None) -> None:
    """Remove `profile`'s stored key, wherever it is; quiet when it is not
    there. Raises KeyStoreError when the keyring fails to remove it."""
    key_file(keys_dir, profile).unlink(missing_ok=True)
    if store != FROM_KEYRING:
        return
    keyring = _keyring()
    if keyring is None:
        return
    from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, profile)
    except (PasswordDeleteError, NoKeyringError):
        pass  # not there (any more), or no keyring: nothing to remove
    except KeyringError as exc:
        raise KeyStoreError(f"The system keyring failed to remove the key: {exc}") from None


def _forget_quietly(keyring, profile: str) -> None:
    from keyring.errors import KeyringError

    # Not there, or no keyring: nothing to remove.
    with contextlib.suppress(KeyringError):
        keyring.delete_password(SERVICE, profile)


def _keyring():
    """The `keyring` module, or None when it is not installed."""
    try:
        import keyring
    except ImportError:
        return None
    return keyring
