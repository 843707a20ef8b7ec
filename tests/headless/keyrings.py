"""Keyring backends for tests: never the machine's own keyring."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Keys in a dict, for the tests that run commands in-process."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class BrokenKeyring(MemoryKeyring):
    """A keyring that exists but fails to store (a locked or denied one)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError("the keyring is locked")


class ForgetfulKeyring(MemoryKeyring):
    """A keyring that accepts a key and then does not have it."""

    def set_password(self, service: str, username: str, password: str) -> None:
        pass


class FileKeyring(MemoryKeyring):
    """Keys in the JSON file $S2B_TEST_KEYRING: a keyring that outlives a
    process, for the tests that run `s2b-tui` as a subprocess (selected with
    PYTHON_KEYRING_BACKEND=tests.headless.keyrings.FileKeyring)."""

    name = "test file keyring"

    @property
    def _path(self) -> Path:
        return Path(os.environ["S2B_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("not found")
        self._path.write_text(json.dumps(data))
