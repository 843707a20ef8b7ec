"""Where the API lives: everything under /v1, the QA calls under /v1/sandbox.

The Link pages (/link/...) and /openapi.json are outside both.
"""

from __future__ import annotations

API_PREFIX = "/v1"
SANDBOX_PREFIX = f"{API_PREFIX}/sandbox"


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")
