"""What the sandbox's parts share, cheap to import: a console loads this
before it has loaded anything else (see `process`)."""

from __future__ import annotations

from datetime import timedelta

#: How long an authorization link stays valid unless told otherwise.
DEFAULT_LINK_TTL = timedelta(minutes=60)


class SandboxStartError(RuntimeError):
    """The sandbox could not start: the message says why."""
