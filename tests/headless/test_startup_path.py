"""The console's start-up does not get heavier for profiles and commands:
no keyring import unless a profile's key is kept there, no TOML parsing
without a config file, no command's parser or module loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.headless.conftest import REPO

CHECK = """
import sys
import s2b_tui.cli
from s2b_tui.config import Settings
parser = s2b_tui.cli.build_parser()
args = parser.parse_args([])
settings = Settings.resolve(profile=args.profile)
print(settings.profile, settings.key_source)
print(" ".join(sorted(m for m in sys.modules
                      if m.split(".")[0] in ("keyring", "tomllib", "tomli_w", "textual")
                      or m.startswith(("s2b_tui.headless", "s2b_tui.profiles",
                                       "s2b_tui.credentials")))))
"""


def start(tmp_path: Path, config: str | None, key_file: bool = False) -> list[str]:
    config_dir = tmp_path / "config"
    if config is not None:
        config_dir.mkdir(mode=0o700)
        (config_dir / "config.toml").write_text(config)
        (config_dir / "config.toml").chmod(0o600)
    if key_file:
        (config_dir / "keys").mkdir(mode=0o700)
        (config_dir / "keys" / "qa.key").write_text("sk_test_" + "k" * 24)
        (config_dir / "keys" / "qa.key").chmod(0o600)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "S2B_CONFIG_DIR": str(config_dir),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


PROFILE = """default = "qa"
[profiles.qa]
base_url = "http://127.0.0.1:9/v1"
key_store = "{store}"
"""


def test_no_config_no_toml_no_keyring(tmp_path: Path):
    resolved, loaded = start(tmp_path, None)
    assert resolved == "None None"
    assert loaded.split() == ["s2b_tui.headless"]


def test_a_file_kept_key_reads_toml_but_never_imports_the_keyring(tmp_path: Path):
    resolved, loaded = start(tmp_path, PROFILE.format(store="file"), key_file=True)
    assert resolved == "qa file"
    modules = loaded.split()
    assert "tomllib" in modules and not any(m.startswith("keyring") for m in modules)
    assert [m for m in modules if not m.startswith("tomllib")] == [
        "s2b_tui.credentials",
        "s2b_tui.headless",
        "s2b_tui.profiles",
    ]


def test_the_keyring_is_imported_when_the_profile_keeps_its_key_there(tmp_path: Path):
    """The check above can fail: a keyring-kept key does import it."""
    config = PROFILE.format(store="keyring")
    config_dir = tmp_path / "config"
    config_dir.mkdir(mode=0o700)
    (config_dir / "config.toml").write_text(config)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "S2B_CONFIG_DIR": str(config_dir),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, cwd=REPO
    )
    # No keyring on this "machine": not signed in, and keyring was tried.
    assert (
        "NotSignedInError" in result.stderr and "no longer in the system keyring" in result.stderr
    )
