"""The accounting packages a company can connect."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from s2b_tui.api.models import INTEGRATION_NAMES


async def list_integrations(request: Request) -> dict[str, Any]:
    return {"results": [{"key": key, "name": name} for key, name in INTEGRATION_NAMES.items()]}
