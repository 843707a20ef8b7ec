"""The environment the tests run in: none of the developer's own settings.

The console reads its settings from the environment (S2B_*), httpx reads
proxies from it, and platformdirs places user data under the home folder. A
developer's own values would change what the tests see, or send their
loopback traffic to a proxy; and a test that reached the real home folder
would share it with every other test process of the run. Tests that need
one of these set it themselves (monkeypatch, or a child's `env=`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: Cleared for the whole run.
CLEARED = (
    "S2B_API_KEY",
    "S2B_BASE_URL",
    "S2B_DATA_DIR",
    "S2B_PROFILE",
    "S2B_CONFIG_DIR",
    *(
        name
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
        for name in (proxy, proxy.lower())
    ),
)

#: Pointed into the run's own home folder, one per test process.
HOME_VARIABLES = {
    "HOME": ".",
    "XDG_CONFIG_HOME": ".config",
    "XDG_DATA_HOME": ".local/share",
    "XDG_STATE_HOME": ".local/state",
    "XDG_CACHE_HOME": ".cache",
}


def make_hermetic(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Clear the developer's settings and move the home folder to `home`."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, relative in HOME_VARIABLES.items():
        monkeypatch.setenv(name, str(home / relative))
