"""Profiles: the config file, and which of flag, environment or profile wins."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import keyring
import pytest

from s2b_tui import credentials, profiles
from s2b_tui.config import Settings, SettingsError
from s2b_tui.profiles import (
    Config,
    NotSignedInError,
    Profile,
    ProfileError,
    load_config,
    save_config,
)

KEY_A = "sk_test_" + "a" * 24
KEY_B = "sk_live_" + "b" * 24
ENV_KEY = "sk_test_" + "e" * 24


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def two_profiles(config_dir: Path) -> Config:
    """`a` (TEST, the default, key in the keyring) and `b` (LIVE, read-only,
    refresh 5 s, key in a file)."""
    config = Config(config_dir / profiles.CONFIG_FILE)
    credentials.store_key(config.keys_dir, "a", KEY_A)
    credentials.key_file(config.keys_dir, "b").parent.mkdir(parents=True, exist_ok=True)
    profiles.write_private(credentials.key_file(config.keys_dir, "b"), KEY_B.encode())
    config.profiles["a"] = Profile("a", "http://127.0.0.1:9001/v1", "test", None, "keyring")
    config.profiles["b"] = Profile(
        "b",
        "http://127.0.0.1:9002/v1",
        "live",
        None,
        "file",
        read_only=True,
        refresh=5.0,
        theme="nord",
    )
    config.default = "a"
    save_config(config)
    return config


def resolve(**kwargs) -> Settings:
    environ = {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HOME"))}
    environ.update(kwargs.pop("environ", {}))
    return Settings.resolve(environ=environ, **kwargs)


def test_no_config_means_the_embedded_sandbox_and_writes_nothing(config_dir: Path):
    settings = resolve()
    assert settings.embedded_sandbox and settings.profile is None
    assert not config_dir.exists()


def test_the_default_profile_applies_with_its_stored_key(two_profiles: Config):
    settings = resolve()
    assert settings.profile == "a"
    assert settings.api_key is not None and settings.api_key.get_secret_value() == KEY_A
    assert settings.base_url == "http://127.0.0.1:9001/v1"
    assert settings.key_source == "keyring"
    assert settings.sources["profile"] == "the default profile"


def test_flag_beats_environment_beats_default(two_profiles: Config):
    assert resolve(environ={"S2B_PROFILE": "b"}).profile == "b"
    chosen = resolve(environ={"S2B_PROFILE": "b"}, profile="a")
    assert chosen.profile == "a" and chosen.sources["profile"] == "--profile"
    from_env = resolve(environ={"S2B_PROFILE": "b"})
    assert from_env.sources["profile"] == "S2B_PROFILE"
    assert from_env.api_key is not None and from_env.api_key.get_secret_value() == KEY_B
    assert from_env.key_source == "file"


def test_profile_settings_and_flags_over_them(two_profiles: Config):
    b = resolve(profile="b")
    assert (b.read_only, b.refresh_seconds, b.theme) == (True, 5.0, "nord")
    overridden = resolve(profile="b", read_only=False, refresh_seconds=1.0)
    assert (overridden.read_only, overridden.refresh_seconds) == (False, 1.0)
    assert overridden.sources["read_only"] == "--no-read-only"
    with pytest.raises(SettingsError, match="at least"):
        resolve(profile="b", refresh_seconds=0.1)


def test_s2b_api_key_wins_over_a_stored_key(two_profiles: Config):
    # No profile named: the environment speaks for itself, as before profiles.
    plain = resolve(environ={"S2B_API_KEY": ENV_KEY, "S2B_BASE_URL": "http://127.0.0.1:9/v1"})
    assert plain.profile is None and plain.key_source == "S2B_API_KEY"
    assert plain.base_url == "http://127.0.0.1:9/v1"
    # A profile named: its settings, the environment's key.
    named = resolve(environ={"S2B_API_KEY": ENV_KEY}, profile="b")
    assert named.profile == "b" and named.key_source == "S2B_API_KEY"
    assert named.api_key is not None and named.api_key.get_secret_value() == ENV_KEY
    assert named.base_url == "http://127.0.0.1:9002/v1" and named.read_only


def test_a_stored_key_is_never_sent_to_another_url(two_profiles: Config):
    with pytest.raises(ProfileError, match=re.escape("never sent to http://127.0.0.1:9999/v1")):
        resolve(profile="a", base_url="http://127.0.0.1:9999/v1")
    # S2B_BASE_URL (set for some other purpose) does not move a stored key either.
    settings = resolve(profile="a", environ={"S2B_BASE_URL": "http://127.0.0.1:9999/v1"})
    assert settings.base_url == "http://127.0.0.1:9001/v1"
    assert "S2B_BASE_URL ignored" in settings.sources["base_url"]


def test_sandbox_flag_wins_over_everything(two_profiles: Config):
    assert resolve(use_sandbox=True, profile="b").embedded_sandbox


def test_unknown_or_signed_out_profiles_are_not_signed_in(two_profiles: Config):
    with pytest.raises(NotSignedInError, match="no profile 'zed'") as raised:
        resolve(profile="zed")
    assert raised.value.exit_code == 4
    credentials.delete_key(two_profiles.keys_dir, "a", "keyring")
    with pytest.raises(NotSignedInError, match="no longer in the system keyring"):
        resolve()
    with pytest.raises(ProfileError, match="not a profile name"):
        resolve(profile="../etc")


def test_a_looser_config_file_and_dir_are_repaired(two_profiles: Config, capsys):
    path = two_profiles.path
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    os.chmod(path, 0o644)
    os.chmod(path.parent, 0o755)
    capsys.readouterr()
    assert load_config(path.parent).default == "a"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    warning = capsys.readouterr().err
    assert f"{path} was readable by others (mode 644); made it 600" in warning
    assert len([line for line in warning.splitlines() if "config.toml" in line]) == 1


def test_written_0600_whatever_the_umask_and_keeps_unknown_keys(config_dir: Path):
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text(
        'future = 1\n[profiles.x]\nbase_url = "http://127.0.0.1:1/v1"\nlater = "kept"\n'
    )
    previous = os.umask(0)
    try:
        config = load_config(config_dir)
        config.default = "x"
        save_config(config)
    finally:
        os.umask(previous)
    assert mode(config_dir / "config.toml") == 0o600
    again = load_config(config_dir)
    assert again.extra == {"future": 1} and again.profiles["x"].extra == {"later": "kept"}
    assert not list(config_dir.glob(".*.tmp"))


def test_a_broken_config_file_is_named(config_dir: Path):
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text("[profiles.x\n")
    with pytest.raises(ProfileError, match=r"config\.toml is not valid TOML"):
        load_config(config_dir)
    (config_dir / "config.toml").write_text('[profiles.x]\nbase_url = "u"\nread_only = "no"\n')
    with pytest.raises(ProfileError, match="read_only has the wrong type"):
        load_config(config_dir)


def test_what_the_console_needs(two_profiles: Config):
    environ = dict(os.environ)
    assert [p.name for p in profiles.list_profiles(environ)] == ["a", "b"]
    profiles.save_theme("a", "gruvbox", environ)
    assert resolve().theme == "gruvbox"
    profiles.set_default("b", environ)
    assert resolve().profile == "b"
    profiles.set_default(None, environ)
    assert resolve().embedded_sandbox
    with pytest.raises(ProfileError, match="has a key for"):
        profiles.update_profile("a", environ, base_url="http://127.0.0.1:5/v1")


def test_link_messages():
    template = "Hi {company}, connect {integration}: {link}"
    assert profiles.link_message_problem(template) is None
    assert (
        profiles.render_link_message(template, company="Acme", link="http://l", integration="Xero")
        == "Hi Acme, connect Xero: http://l"
    )
    assert "not {key}" in (profiles.link_message_problem("{key}") or "")
    assert profiles.link_message_problem("{company") is not None
    assert profiles.link_message_problem("{{literal}} {link}") is None


def test_keys_never_land_in_the_config_file(two_profiles: Config):
    text = two_profiles.path.read_text()
    assert KEY_A not in text and KEY_B not in text
    assert keyring.get_password(credentials.SERVICE, "a") == KEY_A
