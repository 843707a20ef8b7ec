"""Profiles: named environments (a base URL and its key) with their settings.

Non-secret settings live in a TOML file in the user config dir,
`config.toml`, written 0600 in a 0700 dir (and repaired when found looser).
Keys never do: they are in the system keyring, or in a 0600 file where there
is none (`s2b_tui.credentials`).

Which profile applies, and where each setting comes from, is decided here
(`resolve_settings`, called by `Settings.resolve`): a flag wins over the
environment, the environment over the profile. The console's start-up stays
light: `Settings.resolve` loads this module only when a profile is named or
the config file exists, the keyring is imported only when the chosen
profile's key is kept there, and nothing here imports httpx or pydantic but
for a profile's key.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s2b_tui.config import (
    DEFAULT_REFRESH_SECONDS,
    MIN_REFRESH_SECONDS,
    SettingsError,
    default_config_dir,
)

if TYPE_CHECKING:
    from s2b_tui.config import Settings

CONFIG_FILE = "config.toml"
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
DEFAULT_PROFILE_NAME = "default"
#: Placeholders a link message may use.
LINK_MESSAGE_FIELDS = ("company", "link", "integration")

# Where each setting came from, as `s2b-tui status` says it.
FROM_FLAG_PROFILE = "--profile"
FROM_ENV_PROFILE = "S2B_PROFILE"
FROM_DEFAULT_PROFILE = "the default profile"
FROM_ENV_KEY = "S2B_API_KEY"
FROM_KEYRING = "keyring"
FROM_FILE = "file"


class ProfileError(SettingsError):
    """A profile or the config file cannot be used; the message says why."""

    exit_code = 2


class NotSignedInError(ProfileError):
    """No key for the chosen profile: `s2b-tui login` gives it one."""

    exit_code = 4


def config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`S2B_CONFIG_DIR`, else the platform's user config dir (~/.config/s2b-tui)."""
    return default_config_dir(environ)


def check_profile_name(name: str) -> str:
    if PROFILE_NAME.fullmatch(name) is None:
        raise ProfileError(
            f"{name!r} is not a profile name: use 1 to 64 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def link_message_problem(template: str) -> str | None:
    """Why `template` cannot be a link message, or None. Placeholders:
    {company}, {link}, {integration}; `{{` and `}}` are literal braces."""
    import string

    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"the link message is not a valid template ({exc})"
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in LINK_MESSAGE_FIELDS or spec or conversion:
            allowed = ", ".join("{" + f + "}" for f in LINK_MESSAGE_FIELDS)
            return f"the link message may use only {allowed}, not {{{name}}}"
    return None


def render_link_message(template: str, *, company: str, link: str, integration: str = "") -> str:
    """The message to send a customer with their link."""
    problem = link_message_problem(template)
    if problem:
        raise ProfileError(problem)
    return template.format(company=company, link=link, integration=integration)


@dataclass(frozen=True)
class Profile:
    """One profile's settings (no secret: `masked_key` is what screens show)."""

    name: str
    base_url: str
    mode: str | None = None  # "test" or "live": the mode of the stored key
    masked_key: str | None = None
    key_store: str | None = None  # FROM_KEYRING, FROM_FILE, or None: signed out
    read_only: bool = False
    refresh: float | None = None
    theme: str | None = None
    link_message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys of a newer version, kept

    @property
    def signed_in(self) -> bool:
        return self.key_store is not None

    @property
    def is_live(self) -> bool:
        return self.mode == "live"

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = dict(self.extra)
        table["base_url"] = self.base_url
        for name in ("mode", "masked_key", "key_store", "refresh", "theme", "link_message"):
            value = getattr(self, name)
            if value is not None:
                table[name] = value
        table["read_only"] = self.read_only
        return table

    @classmethod
    def from_toml(cls, name: str, table: object, where: Path) -> Profile:
        def problem(text: str) -> ProfileError:
            return ProfileError(f"{where}: profile {name!r}: {text}")

        if not isinstance(table, dict):
            raise problem("must be a table")
        values = dict(table)
        base_url = values.pop("base_url", None)
        if not isinstance(base_url, str) or not base_url:
            raise problem("base_url must be a URL")
        known: dict[str, Any] = {}
        for key, kind in (
            ("mode", str),
            ("masked_key", str),
            ("key_store", str),
            ("theme", str),
            ("link_message", str),
            ("read_only", bool),
            ("refresh", (int, float)),
        ):
            if key not in values:
                continue
            value = values.pop(key)
            if not isinstance(value, kind) or (key == "refresh" and isinstance(value, bool)):
                raise problem(f"{key} has the wrong type ({type(value).__name__})")
            known[key] = float(value) if key == "refresh" else value
        if known.get("key_store") not in (None, FROM_KEYRING, FROM_FILE):
            raise problem(f"key_store must be {FROM_KEYRING!r} or {FROM_FILE!r}")
        return cls(name=name, base_url=base_url.rstrip("/"), extra=values, **known)


@dataclass
class Config:
    """The whole config file."""

    path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    default: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def keys_dir(self) -> Path:
        return self.path.parent / "keys"

    def get(self, name: str) -> Profile | None:
        return self.profiles.get(name)

    def default_profile(self) -> Profile | None:
        return self.profiles.get(self.default) if self.default else None

    def to_toml(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        if self.default:
            data["default"] = self.default
        data["profiles"] = {name: p.to_toml() for name, p in sorted(self.profiles.items())}
        return data


def load_config(directory: Path | None = None) -> Config:
    """The config file in `directory` (default `config_dir()`), or an empty one
    when there is none. A file or dir others can read is made private first."""
    directory = directory or config_dir()
    path = directory / CONFIG_FILE
    try:
        st = path.stat()
    except FileNotFoundError:
        return Config(path)
    except OSError as exc:
        raise ProfileError(f"Cannot read {path}: {exc.strerror or exc}") from None
    _make_private(path, st.st_mode, 0o600)
    _make_private(directory, directory.stat().st_mode, 0o700)
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path} is not valid TOML ({exc}); fix or remove it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"Cannot read {path}: {exc}") from None
    profiles_table = data.pop("profiles", {})
    if not isinstance(profiles_table, dict):
        raise ProfileError(f"{path}: 'profiles' must be a table")
    default = data.pop("default", None)
    if default is not None and not isinstance(default, str):
        raise ProfileError(f"{path}: 'default' must be a profile name")
    profiles = {
        name: Profile.from_toml(name, table, path) for name, table in profiles_table.items()
    }
    return Config(path, profiles, default, data)


def save_config(config: Config) -> None:
    """Write the config file atomically, 0600 in a 0700 dir."""
    import tomli_w

    text = tomli_w.dumps(config.to_toml())
    write_private(config.path, text.encode("utf-8"))


def write_private(path: Path, content: bytes) -> None:
    """`content` into `path`, readable by the user only: written to a new
    0600 file beside it, then renamed over it, so a reader never sees half."""
    ensure_private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask, or a stale file, left
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def ensure_private_dir(directory: Path) -> None:
    """Create `directory` (and its parents) and make it 0700."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _make_private(directory, directory.stat().st_mode, 0o700, quiet=True)


def _make_private(path: Path, mode: int, wanted: int, *, quiet: bool = False) -> None:
    """Remove the group's and others' bits from `path`, saying so once."""
    if os.name != "posix" or not (stat.S_IMODE(mode) & 0o077):
        return
    try:
        os.chmod(path, stat.S_IMODE(mode) & wanted)
    except OSError as exc:
        warn(
            f"{path} is readable by others (mode {stat.S_IMODE(mode):o}) and could not be "
            f"made private: {exc.strerror or exc}"
        )
        return
    if not quiet:
        warn(
            f"{path} was readable by others (mode {stat.S_IMODE(mode):o}); "
            f"made it {stat.S_IMODE(mode) & wanted:o}"
        )


def warn(message: str) -> None:
    """One line on stderr: a diagnostic, never part of a command's data."""
    print(f"s2b-tui: {message}", file=sys.stderr)


# ----------------------------------------------------------------- resolution


@dataclass(frozen=True)
class Choice:
    """The profile that applies (or None) and why."""

    profile: Profile | None
    source: str | None  # FROM_FLAG_PROFILE, FROM_ENV_PROFILE, FROM_DEFAULT_PROFILE
    config: Config


def choose_profile(
    environ: Mapping[str, str], flag_profile: str | None, *, env_key: bool
) -> Choice:
    """Which profile applies: `--profile`, else `S2B_PROFILE`, else the default
    profile unless S2B_API_KEY is set (the environment then speaks for itself)."""
    config = load_config(config_dir(environ))
    for name, source in (
        (flag_profile, FROM_FLAG_PROFILE),
        (environ.get("S2B_PROFILE"), FROM_ENV_PROFILE),
    ):
        if name:
            profile = config.get(check_profile_name(name))
            if profile is None:
                raise NotSignedInError(
                    f"There is no profile {name!r} ({source}): "
                    f"`s2b-tui login --profile {name}` makes it"
                )
            return Choice(profile, source, config)
    if not env_key and config.default_profile() is not None:
        return Choice(config.default_profile(), FROM_DEFAULT_PROFILE, config)
    return Choice(None, None, config)


def resolve_settings(
    cls: type[Settings],
    choice: Choice,
    *,
    environ: Mapping[str, str],
    raw_key: str,
    base_url: str | None,
    data_dir: Path,
    refresh_seconds: float | None,
    read_only: bool | None,
) -> Settings:
    """The settings of `choice.profile`, flags and environment applied over it.

    A stored key is only ever sent to the base URL it was stored with: a
    `--base-url` elsewhere is refused, and S2B_BASE_URL is then ignored.
    S2B_API_KEY replaces the stored key (and then the URL is the flag's, the
    environment's or the profile's, in that order)."""
    profile = choice.profile
    assert profile is not None
    sources: dict[str, str] = {"profile": choice.source or ""}
    if raw_key:
        key = raw_key
        key_source = FROM_ENV_KEY
        if base_url:
            url, sources["base_url"] = base_url, "--base-url"
        elif environ.get("S2B_BASE_URL"):
            url, sources["base_url"] = environ["S2B_BASE_URL"], "S2B_BASE_URL"
        else:
            url, sources["base_url"] = profile.base_url, "the profile"
    else:
        from s2b_tui import credentials

        if base_url and base_url.rstrip("/") != profile.base_url:
            raise ProfileError(
                f"Profile {profile.name!r} signed in to {profile.base_url}; its key is never "
                f"sent to {base_url}. Drop --base-url, or `s2b-tui login --profile NAME "
                f"--base-url {base_url}` for a profile of that API"
            )
        if not profile.signed_in:
            raise NotSignedInError(
                f"Profile {profile.name!r} is signed out: "
                f"`s2b-tui login --profile {profile.name}` signs it in"
            )
        assert profile.key_store is not None
        stored = credentials.load_key(choice.config.keys_dir, profile.name, profile.key_store)
        if stored is None:
            where = credentials.describe_store(
                choice.config.keys_dir, profile.name, profile.key_store
            )
            raise NotSignedInError(
                f"The key of profile {profile.name!r} is no longer in {where}: "
                f"`s2b-tui login --profile {profile.name}` stores it again"
            )
        key = stored
        key_source = profile.key_store
        url, sources["base_url"] = profile.base_url, "the profile"
        if environ.get("S2B_BASE_URL") and environ["S2B_BASE_URL"].rstrip("/") != url:
            sources["base_url"] += " (S2B_BASE_URL ignored: the stored key belongs here)"
    sources["key"] = key_source
    if read_only is not None:
        ro, sources["read_only"] = read_only, "--read-only" if read_only else "--no-read-only"
    else:
        ro, sources["read_only"] = profile.read_only, "the profile"
    if refresh_seconds is not None:
        refresh, sources["refresh"] = refresh_seconds, "--refresh"
    elif profile.refresh is not None:
        refresh, sources["refresh"] = profile.refresh, "the profile"
    else:
        refresh, sources["refresh"] = DEFAULT_REFRESH_SECONDS, "the default"
    if refresh < MIN_REFRESH_SECONDS:
        which = (
            "--refresh" if refresh_seconds is not None else f"profile {profile.name!r}'s refresh"
        )
        raise SettingsError(f"{which} must be at least {MIN_REFRESH_SECONDS} seconds")
    from pydantic import SecretStr

    return cls(
        SecretStr(key),
        url.rstrip("/"),
        data_dir,
        refresh,
        ro,
        profile=profile.name,
        key_source=key_source,
        theme=profile.theme,
        link_message=profile.link_message,
        sources=sources,
    )


# ------------------------------------------------------- what the console needs


def list_profiles(environ: Mapping[str, str] = os.environ) -> list[Profile]:
    """Every profile, by name (for a palette's profile switcher)."""
    config = load_config(config_dir(environ))
    return [config.profiles[name] for name in sorted(config.profiles)]


def default_profile_name(environ: Mapping[str, str] = os.environ) -> str | None:
    return load_config(config_dir(environ)).default


def update_profile(name: str, environ: Mapping[str, str] = os.environ, **changes: Any) -> Profile:
    """Change some of a profile's settings (theme, read_only, refresh,
    link_message, base_url) and save; returns the profile as saved."""
    allowed = {"theme", "read_only", "refresh", "link_message", "base_url"}
    unknown = set(changes) - allowed
    if unknown:
        raise ProfileError(f"Not a profile setting: {', '.join(sorted(unknown))}")
    if changes.get("link_message"):
        problem = link_message_problem(changes["link_message"])
        if problem:
            raise ProfileError(problem)
    config = load_config(config_dir(environ))
    profile = config.get(check_profile_name(name))
    if profile is None:
        raise ProfileError(f"There is no profile {name!r}")
    if "base_url" in changes and changes["base_url"].rstrip("/") != profile.base_url:
        if profile.signed_in:
            raise ProfileError(
                f"Profile {name!r} has a key for {profile.base_url}: to use another API, "
                f"`s2b-tui login --profile {name} --base-url URL` with that API's key"
            )
        changes["base_url"] = changes["base_url"].rstrip("/")
    updated = replace(profile, **changes)
    config.profiles[name] = updated
    save_config(config)
    return updated


def save_theme(name: str, theme: str, environ: Mapping[str, str] = os.environ) -> None:
    """Remember the theme chosen in the console in profile `name`."""
    update_profile(name, environ, theme=theme)


def set_default(name: str | None, environ: Mapping[str, str] = os.environ) -> None:
    """Make `name` the default profile (None: no default, the embedded sandbox)."""
    config = load_config(config_dir(environ))
    if name is not None and config.get(check_profile_name(name)) is None:
        raise ProfileError(f"There is no profile {name!r}")
    config.default = name
    save_config(config)
