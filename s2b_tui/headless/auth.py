"""`login`, `logout`, `profiles` and `status`."""

from __future__ import annotations

import argparse
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO, cast
from urllib.parse import urlsplit

from s2b_tui import credentials, profiles
from s2b_tui.config import SettingsError
from s2b_tui.headless.output import Field, ListWriter, write_json, write_pairs
from s2b_tui.headless.runtime import CommandFailed, Context, ExitCode, UsageError
from s2b_tui.profiles import (
    DEFAULT_PROFILE_NAME,
    FROM_FILE,
    FROM_KEYRING,
    Config,
    Profile,
)

#: Longest text read from stdin by `login --with-key`: a key is ~40 characters.
MAX_KEY_INPUT = 4096


def _config(ctx: Context) -> Config:
    return profiles.load_config(profiles.config_dir(ctx.environ))


def _profile_name(ctx: Context, args: argparse.Namespace, config: Config | None = None) -> str:
    name = getattr(args, "profile", None) or ctx.environ.get("S2B_PROFILE")
    if not name and config is not None:
        name = config.default
    return profiles.check_profile_name(name or DEFAULT_PROFILE_NAME)


def _read_key(ctx: Context, args: argparse.Namespace, host: str) -> str:
    if args.with_key:
        raw = sys.stdin.read(MAX_KEY_INPUT + 1)
        if len(raw) > MAX_KEY_INPUT:
            raise CommandFailed("That is not a key: stdin had more than 4 KB", ExitCode.USAGE)
        if len([line for line in raw.splitlines() if line.strip()]) > 1:
            raise CommandFailed(
                "stdin had several lines: give the key alone", ExitCode.NOT_SIGNED_IN
            )
        return raw
    if not ctx.stdin_is_tty:
        raise UsageError(
            "No terminal to ask for the key: pipe it in with --with-key "
            "(`printf '%s' \"$KEY\" | s2b-tui login --with-key`)"
        )
    import getpass

    try:
        return getpass.getpass(f"API key for {host} (input hidden): ", stream=cast(TextIO, ctx.err))
    except EOFError:
        raise UsageError("No key was given") from None


async def login(ctx: Context, args: argparse.Namespace) -> int:
    from s2b_tui.api import AuthenticationError, Sync2BooksError
    from s2b_tui.api.client import DEFAULT_BASE_URL
    from s2b_tui.api.keys import ApiKey
    from s2b_tui.session import ClientBackend, EnvironmentKind, RemoteBackend, open_session

    config = _config(ctx)
    name = _profile_name(ctx, args)
    existing = config.get(name)
    base_url = (
        getattr(args, "base_url", None)
        or (existing.base_url if existing else None)
        or ctx.environ.get("S2B_BASE_URL")
        or DEFAULT_BASE_URL
    ).rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--base-url must be an http(s) URL, not {base_url!r}")

    try:
        key = ApiKey(credentials.clean_key(_read_key(ctx, args, parts.netloc)))
    except credentials.KeyInputError as exc:
        raise CommandFailed(f"{exc}. Nothing was stored.", ExitCode.NOT_SIGNED_IN) from None
    mode = "LIVE" if key.is_live else "TEST"

    client = await RemoteBackend(key, base_url).open_client(None)
    try:
        session = await open_session(ClientBackend(client))
    except AuthenticationError as exc:
        raise CommandFailed(
            f"{parts.netloc} refused the {mode} key {key.masked}: {exc.message.rstrip('.')}. "
            "Nothing was stored.",
            ExitCode.NOT_SIGNED_IN,
        ) from None
    except Sync2BooksError as exc:
        raise CommandFailed(f"Could not check the key: {exc} Nothing was stored.") from None
    finally:
        await client.aclose()
    kind = session.environment.kind
    if existing and existing.mode and existing.mode != key.mode.value:
        ctx.note(f"profile {name!r} held a {existing.mode.upper()} key; this one is {mode}")

    old_key = (
        credentials.load_key(config.keys_dir, name, existing.key_store)
        if existing and existing.key_store
        else None
    )
    try:
        stored = credentials.store_key(config.keys_dir, name, key.secret())
    except credentials.KeyStoreError as exc:
        raise CommandFailed(f"{exc}; profile {name!r} is unchanged") from None
    read_only = args.read_only
    if read_only is None:
        read_only = existing.read_only if existing else False
    profile = Profile(
        name=name,
        base_url=base_url,
        mode=key.mode.value,
        masked_key=key.masked,
        key_store=stored.store,
        read_only=read_only,
        refresh=existing.refresh if existing else None,
        theme=existing.theme if existing else None,
        link_message=existing.link_message if existing else None,
        extra=dict(existing.extra) if existing else {},
    )
    config.profiles[name] = profile
    if args.default or config.default_profile() is None:
        config.default = name
    try:
        profiles.save_config(config)
    except BaseException:
        # No half-written profile: the key goes back to what it was.
        credentials.delete_key(config.keys_dir, name, stored.store)
        if old_key is not None:
            credentials.store_key(config.keys_dir, name, old_key)
        raise
    if existing and existing.key_store and existing.key_store != stored.store:
        credentials.delete_key(config.keys_dir, name, existing.key_store)

    environment = "the SANDBOX, " if kind is EnvironmentKind.SANDBOX else ""
    ctx.note(
        f"signed in to {parts.netloc} as profile {name!r}: {environment}a {mode} key ({key.masked})"
    )
    if stored.store == FROM_KEYRING:  # a file was named by its one-line warning
        ctx.note(f"the key is stored in {stored.where}")
    if config.default == name:
        ctx.note(f"{name!r} is the default profile")
    else:
        ctx.note(f"use it with --profile {name} (or S2B_PROFILE={name})")
    if key.is_live and not read_only:
        ctx.note(
            f"a LIVE profile: `s2b-tui profiles set {name} --read-only` makes it read-only "
            "unless a command says --no-read-only"
        )
    return ExitCode.OK


async def logout(ctx: Context, args: argparse.Namespace) -> int:
    config = _config(ctx)
    name = _profile_name(ctx, args, config)
    profile = config.get(name)
    if profile is None:
        raise UsageError(f"There is no profile {name!r}")
    try:
        credentials.delete_key(config.keys_dir, name, profile.key_store)
    except credentials.KeyStoreError as exc:
        raise CommandFailed(f"{exc}; profile {name!r} is unchanged") from None
    where = (
        credentials.describe_store(config.keys_dir, name, profile.key_store)
        if profile.key_store
        else None
    )
    if args.forget:
        del config.profiles[name]
    else:
        config.profiles[name] = replace(profile, key_store=None, masked_key=None, mode=None)
    if config.default == name:
        config.default = None
    profiles.save_config(config)
    removed = f"its key was removed from {where}" if where else "it had no stored key"
    forgot = "; its settings are forgotten too" if args.forget else ""
    ctx.note(f"signed out of profile {name!r}: {removed}{forgot}")
    return ExitCode.OK


# -- profiles -------------------------------------------------------------

PROFILE_FIELDS = [
    Field("", "default", lambda p: "*" if p[1] else "", width=1),
    Field("NAME", "name", lambda p: p[0].name, width=16),
    Field("MODE", "mode", lambda p: (p[0].mode or "").upper() or "—", width=4),
    Field("KEY", "maskedKey", lambda p: p[0].masked_key or "signed out", width=16),
    Field("STORED IN", "keyStore", lambda p: p[0].key_store or "—", width=9),
    Field("READ-ONLY", "readOnly", lambda p: "yes" if p[0].read_only else "no", width=9),
    Field("BASE URL", "baseUrl", lambda p: p[0].base_url),
]


def _profile_json(item: tuple[Profile, bool]) -> dict:
    profile, is_default = item
    return {
        "name": profile.name,
        "default": is_default,
        "baseUrl": profile.base_url,
        "mode": profile.mode,
        "maskedKey": profile.masked_key,
        "keyStore": profile.key_store,
        "readOnly": profile.read_only,
        "refresh": profile.refresh,
        "theme": profile.theme,
        "linkMessage": profile.link_message,
    }


async def profiles_list(ctx: Context, args: argparse.Namespace) -> int:
    config = _config(ctx)
    items = [(config.profiles[n], n == config.default) for n in sorted(config.profiles)]
    if not items and ctx.format is None:
        ctx.note("no profiles yet: `s2b-tui login --profile NAME` makes one")
        return ExitCode.OK
    with ListWriter(
        ctx.out, PROFILE_FIELDS, ctx.format, to_json=_profile_json, color=ctx.color
    ) as writer:
        writer.write_all(items)
    return ExitCode.OK


async def profiles_use(ctx: Context, args: argparse.Namespace) -> int:
    name = None if args.name.lower() == "none" else args.name
    profiles.set_default(name, ctx.environ)
    if name is None:
        ctx.note("no default profile: with no key the console uses the embedded sandbox")
    else:
        ctx.note(f"{name!r} is the default profile")
    return ExitCode.OK


async def profiles_set(ctx: Context, args: argparse.Namespace) -> int:
    changes = {
        key: value
        for key, value in (
            ("read_only", args.read_only),
            ("refresh", args.refresh),
            ("theme", args.theme),
            ("link_message", args.link_message),
        )
        if value is not None
    }
    if not changes:
        raise UsageError(
            "Nothing to change: give --read-only, --refresh, --theme or --link-message"
        )
    profile = profiles.update_profile(args.name, ctx.environ, **changes)
    ctx.note(f"profile {profile.name!r} saved")
    return ExitCode.OK


# -- status ---------------------------------------------------------------


def _mode_text(path: Path) -> str:
    try:
        return f"mode {stat.S_IMODE(path.stat().st_mode):o}"
    except OSError:
        return "missing"


async def status(ctx: Context, args: argparse.Namespace) -> int:
    """Where the console would point now, and which of flag, environment or
    profile decided it. Offline unless --check."""
    from s2b_tui.api.keys import mask_key

    config_path = profiles.config_dir(ctx.environ) / profiles.CONFIG_FILE
    report: dict[str, object] = {
        "config": str(config_path) if config_path.exists() else None,
    }
    pairs: list[tuple[str, str]] = []
    try:
        settings = ctx.settings
    except SettingsError as exc:
        ctx.note(str(exc))
        return getattr(exc, "exit_code", ExitCode.USAGE)
    sources = settings.sources
    if settings.profile:
        report["profile"] = settings.profile
        pairs.append(("profile", f"{settings.profile}  (from {sources.get('profile')})"))
    else:
        report["profile"] = None
        pairs.append(("profile", "none"))
    if settings.embedded_sandbox:
        why = (
            "--sandbox" if getattr(ctx.args, "sandbox", False) else "no S2B_API_KEY and no profile"
        )
        report.update(api="embedded-sandbox", dataDir=str(settings.sandbox_data_dir), why=why)
        pairs.append(("api", f"the embedded sandbox  ({why})"))
        pairs.append(("data", str(settings.sandbox_data_dir)))
        pairs.append(("key", "the sandbox's own"))
    else:
        assert settings.api_key is not None
        masked = mask_key(settings.api_key)
        mode = "LIVE" if masked.startswith("sk_live_") else "TEST"
        url_source = sources.get("base_url") or _env_url_source(ctx)
        key_where = settings.key_source or "S2B_API_KEY"
        config = profiles.load_config(profiles.config_dir(ctx.environ))
        if settings.profile and key_where in (FROM_KEYRING, FROM_FILE):
            key_where = credentials.describe_store(config.keys_dir, settings.profile, key_where)
            if settings.key_source == FROM_FILE:
                path = credentials.key_file(config.keys_dir, settings.profile)
                key_where += f" ({_mode_text(path)}, its dir {_mode_text(path.parent)})"
        report.update(
            api=settings.base_url,
            baseUrlFrom=url_source,
            mode=mode.lower(),
            maskedKey=masked,
            keyFrom=key_where,
        )
        pairs.append(("api", f"{settings.base_url}  (from {url_source})"))
        pairs.append(("key", f"{masked}, {mode}  (from {key_where})"))
    read_only_source = sources.get("read_only") or (
        "--read-only" if getattr(ctx.args, "read_only", None) else "the default"
    )
    report["readOnly"] = settings.read_only
    pairs.append(("read-only", f"{'yes' if settings.read_only else 'no'}  ({read_only_source})"))
    if settings.theme:
        pairs.append(("theme", settings.theme))
    pairs.append(("config", f"{config_path}" if config_path.exists() else f"{config_path} (none)"))
    code: int = ExitCode.OK
    if args.check:
        checked, code = await _check(ctx)
        report["check"] = checked
        pairs.append(("check", checked))
    if ctx.format == "json":
        write_json(ctx.out, report)
    else:
        write_pairs(ctx.out, pairs, color=ctx.color)
    return code


def _env_url_source(ctx: Context) -> str:
    if getattr(ctx.args, "base_url", None):
        return "--base-url"
    if ctx.environ.get("S2B_BASE_URL"):
        return "S2B_BASE_URL"
    return "the default"


async def _check(ctx: Context) -> tuple[str, int]:
    from s2b_tui.api import AuthenticationError, Sync2BooksError
    from s2b_tui.headless.runtime import describe_error
    from s2b_tui.session import ClientBackend, open_session

    try:
        client = await ctx.client()
        session = await open_session(ClientBackend(client))
    except (AuthenticationError, Sync2BooksError) as exc:
        code, message = describe_error(exc, ctx)
        return f"failed: {message}", code
    return f"ok: {session.environment.kind.value} at {session.environment.host}", ExitCode.OK
