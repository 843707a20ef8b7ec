"""The JSON bodies the API's operations accept, as pydantic models.

camelCase on the wire, unknown fields refused (422), and the same checks as
the console's own (s2b_tui.api.validation). `FaultSettings`, the body of
`PUT /v1/sandbox/faults`, lives with the faults middleware it configures.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from s2b_tui.api.models import INTEGRATION_NAMES, ConnectionStatus, IntegrationKey
from s2b_tui.api.validation import (
    DESCRIPTION_MAX,
    NAME_MAX,
    description_problem,
    name_problem,
    normalize_name,
)
from s2b_tui.sandbox.store import SEED_MAX


class RequestBody(BaseModel):
    """Request bodies: camelCase, unknown fields refused (422)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)


# The JSON Schema patterns say what the validators enforce, so generated
# requests (schemathesis) that match the schema are accepted.
# No controls, and no unpaired surrogates (\ud800-\udfff: not text).
_NAME_PATTERN = (
    r"^[^\x00-\x1f\x7f-\x9f\ud800-\udfff]*[^\s\x00-\x1f\x7f-\x9f\ud800-\udfff]"
    r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]*$"
)
_DESCRIPTION_PATTERN = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]*$"


class CreateCompanyRequest(RequestBody):
    name: StrictStr = Field(
        description="trimmed; 1 to 100 characters; no control characters",
        json_schema_extra={"minLength": 1, "maxLength": NAME_MAX, "pattern": _NAME_PATTERN},
    )
    description: StrictStr | None = Field(
        None,
        description="at most 500 characters; no control characters but line breaks",
        json_schema_extra={"maxLength": DESCRIPTION_MAX, "pattern": _DESCRIPTION_PATTERN},
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        problem = name_problem(value)
        if problem:
            raise PydanticCustomError("company_name", problem)
        return normalize_name(value)

    @field_validator("description")
    @classmethod
    def _valid_description(cls, value: str | None) -> str | None:
        problem = description_problem(value)
        if problem:
            raise PydanticCustomError("company_description", problem)
        return value or None  # an empty description is no description


class CreateConnectionRequest(RequestBody):
    integration_key: IntegrationKey


class UpdateConnectionRequest(RequestBody):
    status: Literal["DISCONNECTED"] = Field(
        description="the only change: unlink (deauthorize) the connection"
    )


class SimulateRequest(RequestBody):
    status: ConnectionStatus
    error_code: StrictStr | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]{0,63}$")
    message: StrictStr | None = Field(
        None, json_schema_extra={"maxLength": DESCRIPTION_MAX, "pattern": _DESCRIPTION_PATTERN}
    )

    @field_validator("message")
    @classmethod
    def _valid_message(cls, value: str | None) -> str | None:
        problem = description_problem(value)
        if problem:
            raise PydanticCustomError("error_message", problem)
        return value


class CompleteRequest(RequestBody):
    decision: Literal["allow", "deny"]


class SeedRequest(RequestBody):
    companies: StrictInt = Field(ge=1, le=SEED_MAX)
    connections_per_company: StrictInt = Field(1, ge=0, le=len(INTEGRATION_NAMES))
    seed: StrictInt | None = Field(None, description="makes names and statuses reproducible")
