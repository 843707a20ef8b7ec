"""What the sandbox's parts share, cheap to import: a console loads this
before it has loaded anything else (see `process`)."""

from __future__ import annotations

from datetime import timedelta

#: How long an authorization link stays valid unless told otherwise (API.md:
#: 10,080 minutes; customers take days to act on an emailed link).
DEFAULT_LINK_TTL = timedelta(days=7)


class SandboxStartError(RuntimeError):
    """The sandbox could not start: the message says why."""
