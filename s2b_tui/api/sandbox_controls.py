"""The sandbox-only QA endpoints (`/sandbox/...`): what QA and demos use to
drive every status without a browser. A production API answers 404 to all
of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from s2b_tui.api.errors import NotFoundError
from s2b_tui.api.features import Feature
from s2b_tui.api.models import (
    Authorization,
    CompanyState,
    Connection,
    ConnectionStatus,
    SandboxInfo,
    SeedResult,
)
from s2b_tui.api.portfolio import SandboxPortfolioCalls, seed_states
from s2b_tui.api.wire import segment

if TYPE_CHECKING:
    from s2b_tui.api.client import Sync2BooksClient


class SandboxControls(SandboxPortfolioCalls):
    """`client.sandbox`. Absent in production: call `info()` first; it
    answers None when the API is not a sandbox. The portfolio revision's
    controls come from `SandboxPortfolioCalls`."""

    def __init__(self, client: Sync2BooksClient) -> None:
        self._client = client

    async def info(self) -> SandboxInfo | None:
        try:
            reply = await self._client._request("GET", "sandbox")
        except NotFoundError:
            return None
        info = self._client._parse(SandboxInfo, reply)
        return info if info.sandbox else None

    async def simulate(
        self,
        company_id: str,
        connection_id: str,
        status: ConnectionStatus | str,
        *,
        error_code: str | None = None,
        message: str | None = None,
    ) -> Connection:
        body: dict[str, Any] = {"status": str(status)}
        if error_code:
            body["errorCode"] = error_code
        if message:
            body["message"] = message
        reply = await self._client._request(
            "POST",
            f"sandbox/companies/{segment(company_id)}/connections/{segment(connection_id)}"
            "/simulate",
            json_body=body,
        )
        return self._client._parse(Connection, reply)

    async def complete_authorization(self, authorization_id: str, decision: str) -> Authorization:
        reply = await self._client._request(
            "POST",
            f"sandbox/authorizations/{segment(authorization_id)}/complete",
            json_body={"decision": decision},
        )
        return self._client._parse(Authorization, reply)

    async def seed(
        self,
        companies: int,
        *,
        connections_per_company: int | None = None,
        seed: int | None = None,
        states: Mapping[CompanyState | str, float] | None = None,
    ) -> int:
        """Add demo companies; `seed` makes them reproducible, `states`
        (portfolio revision) gives the share of each connectionState."""
        body: dict[str, Any] = {"companies": companies}
        if connections_per_company is not None:
            body["connectionsPerCompany"] = connections_per_company
        if seed is not None:
            body["seed"] = seed
        if states is not None:
            await self._client._require(Feature.SANDBOX_CONTROLS, "POST", "sandbox/seed")
            body["states"] = seed_states(states)
        reply = await self._client._request("POST", "sandbox/seed", json_body=body)
        return self._client._parse(SeedResult, reply).created

    async def set_faults(self, **faults: Any) -> dict:
        """latency_ms, error_rate, error_status, path_prefix, retry_after, error_count."""
        body = {_camel(k): v for k, v in faults.items() if v is not None}
        reply = await self._client._request("PUT", "sandbox/faults", json_body=body)
        if not isinstance(reply.body, dict):
            raise self._client._invalid(
                "The API's reply to PUT /sandbox/faults was not a JSON object", reply
            )
        return reply.body

    async def clear_faults(self) -> None:
        await self._client._request("PUT", "sandbox/faults", json_body={})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
