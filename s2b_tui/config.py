"""Console settings: where the API is, which key, where data lives.

The key comes from the environment (`S2B_API_KEY`) or from a profile that
`s2b-tui login` stored (`s2b_tui.profiles`): a key does not belong in shell
history, so there is no `--api-key` flag.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from pydantic import SecretStr

APP_NAME = "s2b-tui"
DEFAULT_REFRESH_SECONDS = 2.0
MIN_REFRESH_SECONDS = 0.5


class SettingsError(ValueError):
    """Settings that cannot work together; the message says what to change."""


def default_data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`S2B_DATA_DIR`, else the platform's user data dir (e.g. ~/.local/share/s2b-tui)."""
    if environ.get("S2B_DATA_DIR"):
        return Path(environ["S2B_DATA_DIR"]).expanduser()
    return platformdirs.user_data_path(APP_NAME)


def default_config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`S2B_CONFIG_DIR`, else the platform's user config dir (~/.config/s2b-tui):
    where profiles live (`s2b_tui.profiles`)."""
    if environ.get("S2B_CONFIG_DIR"):
        return Path(environ["S2B_CONFIG_DIR"]).expanduser()
    return platformdirs.user_config_path(APP_NAME)


@dataclass(frozen=True)
class Settings:
    """What the console was started with. `api_key is None` means the
    embedded sandbox, whose data lives in `data_dir / "sandbox"`."""

    api_key: SecretStr | None
    base_url: str
    data_dir: Path
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS
    read_only: bool = False
    # From a profile (`s2b_tui.profiles`): its name, where the key came from
    # ("S2B_API_KEY", "keyring", "file"), its theme and link message, and where
    # each setting came from (for `s2b-tui status`).
    profile: str | None = None
    key_source: str | None = None
    theme: str | None = None
    link_message: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def embedded_sandbox(self) -> bool:
        return self.api_key is None

    @property
    def sandbox_data_dir(self) -> Path:
        return self.data_dir / "sandbox"

    @classmethod
    def resolve(
        cls,
        *,
        environ: Mapping[str, str] = os.environ,
        base_url: str | None = None,
        use_sandbox: bool = False,
        data_dir: Path | None = None,
        refresh_seconds: float | None = None,
        read_only: bool | None = None,
        profile: str | None = None,
    ) -> Settings:
        refresh = DEFAULT_REFRESH_SECONDS if refresh_seconds is None else refresh_seconds
        if refresh < MIN_REFRESH_SECONDS:
            raise SettingsError(f"--refresh must be at least {MIN_REFRESH_SECONDS} seconds")
        data = (data_dir or default_data_dir(environ)).expanduser()
        raw_key = (environ.get("S2B_API_KEY") or "").strip()
        if not use_sandbox and (
            profile
            or environ.get("S2B_PROFILE")
            or (default_config_dir(environ) / "config.toml").exists()
        ):
            # Profiles load only when there are some; see `s2b_tui.profiles`.
            from s2b_tui.profiles import choose_profile, resolve_settings

            choice = choose_profile(environ, profile, env_key=bool(raw_key))
            if choice.profile is not None:
                return resolve_settings(
                    cls,
                    choice,
                    environ=environ,
                    raw_key=raw_key,
                    base_url=base_url,
                    data_dir=data,
                    refresh_seconds=refresh_seconds,
                    read_only=read_only,
                )
        read_only = bool(read_only)
        if use_sandbox or not raw_key:
            if base_url and not use_sandbox:
                raise SettingsError(
                    f"Sign in to {base_url} with `s2b-tui login --base-url {base_url}`, "
                    "or set S2B_API_KEY to its API key (`s2b-tui sandbox serve` prints its "
                    "key on start), or drop --base-url to use the embedded sandbox."
                )
            return cls(None, "", data, refresh, read_only)
        # Only with a key: the embedded sandbox starts before these load (see cli).
        from pydantic import SecretStr

        from s2b_tui.api.client import DEFAULT_BASE_URL

        url = base_url or environ.get("S2B_BASE_URL") or DEFAULT_BASE_URL
        return cls(
            SecretStr(raw_key), url.rstrip("/"), data, refresh, read_only, key_source="S2B_API_KEY"
        )
