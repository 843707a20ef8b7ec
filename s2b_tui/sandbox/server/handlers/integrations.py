"""The accounting packages a company can connect."""

from __future__ import annotations

from starlette.requests import Request

from s2b_tui.api.models import INTEGRATION_NAMES, Integration, IntegrationList


async def list_integrations(request: Request) -> IntegrationList:
    return IntegrationList(
        results=[Integration(key=key, name=name) for key, name in INTEGRATION_NAMES.items()]
    )
