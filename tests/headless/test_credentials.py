"""Stored keys: the keyring, the file where there is none, and pasted keys."""

from __future__ import annotations

import stat
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyring

from s2b_tui import credentials
from s2b_tui.credentials import KeyInputError, KeyStoreError, clean_key
from tests.headless.conftest import login
from tests.headless.keyrings import BrokenKeyring, ForgetfulKeyring, MemoryKeyring

KEY = "sk_test_" + "Q" * 20 + "wxyz"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "pasted",
    [KEY, f"  {KEY}\n", f'"{KEY}"', f"'{KEY}'", f"\u201c{KEY}\u201d", f"\t'{KEY}' \r\n"],
)
def test_whitespace_and_quotes_around_a_key_are_trimmed(pasted: str):
    assert clean_key(pasted) == KEY


@pytest.mark.parametrize(
    ("pasted", "reason"),
    [
        ("", "No key"),
        ('""', "No key"),
        (f"{KEY[:12]} {KEY[12:]}", "spaces or line breaks inside"),
        (f"Bearer {KEY}", "spaces or line breaks inside"),
        ("pk_test_" + "Q" * 24, "not a secret key"),
        ("sk_prod_" + "Q" * 24, "starts with sk_test_ or sk_live_"),
        ("sk_test_short", "at least 16 letters or digits"),
        (KEY + "!", "at least 16 letters or digits"),
    ],
)
def test_what_is_not_a_key_is_refused_clearly_and_never_echoed(pasted: str, reason: str):
    with pytest.raises(KeyInputError, match=reason) as raised:
        clean_key(pasted)
    assert "QQQQQQQQ" not in str(raised.value)


def test_the_keyring_holds_the_key_and_no_file_is_written(tmp_path: Path):
    stored = credentials.store_key(tmp_path / "keys", "qa", KEY)
    assert stored.store == "keyring" and "account 'qa'" in stored.where
    assert keyring.get_password("s2b-tui", "qa") == KEY
    assert not (tmp_path / "keys").exists()
    assert credentials.load_key(tmp_path / "keys", "qa", "keyring") == KEY
    credentials.delete_key(tmp_path / "keys", "qa", "keyring")
    assert credentials.load_key(tmp_path / "keys", "qa", "keyring") is None
    credentials.delete_key(tmp_path / "keys", "qa", "keyring")  # gone already: quiet


def test_no_keyring_falls_back_to_a_private_file_with_one_warning(tmp_path: Path, capsys):
    keyring.set_keyring(NoKeyring())
    keys = tmp_path / "config" / "keys"
    stored = credentials.store_key(keys, "qa", KEY)
    assert stored.store == "file" and stored.path == keys / "qa.key"
    assert mode(keys / "qa.key") == 0o600 and mode(keys) == 0o700
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and "no system keyring here" in warning
    assert KEY not in warning
    assert credentials.load_key(keys, "qa", "file") == KEY
    credentials.delete_key(keys, "qa", "file")
    assert not (keys / "qa.key").exists()


def test_a_looser_key_file_is_repaired_when_read(tmp_path: Path, capsys):
    keyring.set_keyring(NoKeyring())
    keys = tmp_path / "keys"
    credentials.store_key(keys, "qa", KEY)
    (keys / "qa.key").chmod(0o644)
    capsys.readouterr()
    assert credentials.load_key(keys, "qa", "file") == KEY
    assert mode(keys / "qa.key") == 0o600
    assert "made it 600" in capsys.readouterr().err


@pytest.mark.parametrize("backend", [BrokenKeyring, ForgetfulKeyring])
def test_a_failing_keyring_stores_nothing(tmp_path: Path, backend):
    keyring.set_keyring(backend())
    with pytest.raises(KeyStoreError, match="nothing was stored"):
        credentials.store_key(tmp_path / "keys", "qa", KEY)
    assert not (tmp_path / "keys").exists()


def test_login_with_a_failing_keyring_leaves_no_profile(cli, api, config_dir: Path):
    keyring.set_keyring(BrokenKeyring())
    result = cli(
        "login", "--with-key", "--profile", "qa", "--base-url", api.base_url, stdin=api.api_key
    )
    assert result.code == 1
    assert "keyring failed" in result.err and "profile 'qa' is unchanged" in result.err
    assert not (config_dir / "config.toml").exists()


def test_login_again_when_saving_the_profile_fails_restores_the_old_key(
    cli, api, config_dir: Path, monkeypatch
):
    login(cli, api)
    memory = keyring.get_keyring()
    assert isinstance(memory, MemoryKeyring)
    before = (config_dir / "config.toml").read_text()

    def fail(config):
        raise OSError("disk full")

    monkeypatch.setattr("s2b_tui.profiles.save_config", fail)
    result = cli("login", "--with-key", "--profile", "qa", stdin=api.api_key)
    assert result.code == 1 and "disk full" in result.err
    assert (config_dir / "config.toml").read_text() == before
    assert memory.passwords[("s2b-tui", "qa")] == api.api_key
