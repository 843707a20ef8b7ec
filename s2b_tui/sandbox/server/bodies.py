"""The JSON bodies the API's operations accept, as pydantic models.

camelCase on the wire, unknown fields refused (422), and the same checks as
the console's own (s2b_tui.api.validation). `FaultSettings`, the body of
`PUT /v1/sandbox/faults`, lives with the faults middleware it configures.

A `…V1` model is the first revision's body; its subclass adds the portfolio
revision's fields (a first-revision server refuses them as unknown).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from s2b_tui.api.models import INTEGRATION_NAMES, CompanyState, ConnectionStatus, IntegrationKey
from s2b_tui.api.validation import (
    DESCRIPTION_MAX,
    EMAIL_MAX,
    NAME_MAX,
    WHITESPACE,
    description_problem,
    email_problem,
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
# One @ with text on both sides; no spaces (Unicode White_Space) or controls.
_EMAIL_CHARACTER = r"[^@" + WHITESPACE + r"\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_EMAIL_PATTERN = f"^{_EMAIL_CHARACTER}+@{_EMAIL_CHARACTER}+$"
#: Link lifetimes (API.md): 5 minutes to 30 days.
EXPIRES_IN_MINUTES_MIN = 5
EXPIRES_IN_MINUTES_MAX = 43_200


def _left_out_or(**constraints: Any) -> Any:
    """The JSON Schema of a field that may be left out but is never null:
    `constraints`, and nothing of the `None` that stands for "left out"."""

    def amend(schema: dict[str, Any]) -> None:
        schema.pop("default", None)
        schema.update(constraints)

    return amend


def _name_field(description: str) -> Any:
    return Field(
        description=description,
        json_schema_extra={"minLength": 1, "maxLength": NAME_MAX, "pattern": _NAME_PATTERN},
    )


def _description_field() -> Any:
    return Field(
        None,
        description="at most 500 characters; no control characters but line breaks",
        json_schema_extra={"maxLength": DESCRIPTION_MAX, "pattern": _DESCRIPTION_PATTERN},
    )


def _email_field(description: str) -> Any:
    return Field(
        None,
        description=description,
        json_schema_extra={"maxLength": EMAIL_MAX, "pattern": _EMAIL_PATTERN},
    )


def _valid_name(value: str) -> str:
    problem = name_problem(value)
    if problem:
        raise PydanticCustomError("company_name", problem)
    return normalize_name(value)


def _valid_description(value: str | None) -> str | None:
    problem = description_problem(value)
    if problem:
        raise PydanticCustomError("company_description", problem)
    return value or None  # an empty description is no description


def _valid_email(value: str | None) -> str | None:
    problem = email_problem(value)
    if problem:
        raise PydanticCustomError("contact_email", problem)
    return value


class CreateCompanyRequestV1(RequestBody):
    name: StrictStr = _name_field("trimmed; 1 to 100 characters; no control characters")
    description: StrictStr | None = _description_field()

    _name = field_validator("name")(_valid_name)
    _description = field_validator("description")(_valid_description)


class CreateCompanyRequest(CreateCompanyRequestV1):
    contact_email: StrictStr | None = _email_field(
        "the customer's address, never shown on a Link page: at most 254 characters, "
        "one @ with text on both sides, no spaces or control characters"
    )

    _email = field_validator("contact_email")(_valid_email)


class UpdateCompanyRequest(RequestBody):
    """PATCH /companies/{id}: any of the three; null clears description and
    contactEmail; a name cannot be cleared; `{}` changes nothing and is refused."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    # `None` here means "left out": an explicit null name is not a string.
    name: StrictStr = Field(
        None,  # type: ignore[assignment]
        description="trimmed; 1 to 100 characters; no control characters; not null",
        json_schema_extra=_left_out_or(minLength=1, maxLength=NAME_MAX, pattern=_NAME_PATTERN),
    )
    description: StrictStr | None = _description_field()
    contact_email: StrictStr | None = _email_field("as on create; null clears it")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _valid_name(value)

    _description = field_validator("description")(_valid_description)
    _email = field_validator("contact_email")(_valid_email)

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateCompanyRequest:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "nothing_to_change", "must set at least one of name, description, contactEmail"
            )
        return self

    def changes(self) -> dict[str, str | None]:
        """The fields sent, as the store names them."""
        sent = self.model_fields_set
        return {field: getattr(self, field) for field in type(self).model_fields if field in sent}


class LinkLifetime(RequestBody):
    """How long a new authorization link stays valid (portfolio revision)."""

    expires_in_minutes: StrictInt = Field(
        None,  # type: ignore[assignment]  # left out: the sandbox's default (7 days)
        ge=EXPIRES_IN_MINUTES_MIN,
        le=EXPIRES_IN_MINUTES_MAX,
        description="5 to 43,200 (30 days); default 10,080 (7 days, or the sandbox's --link-ttl)",
        json_schema_extra=_left_out_or(),
    )


class CreateConnectionRequestV1(RequestBody):
    integration_key: IntegrationKey


class CreateConnectionRequest(LinkLifetime, CreateConnectionRequestV1):
    pass


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


class ResetRequest(RequestBody):
    confirm: Literal["RESET"] = Field(description="says that everything is to go")


class SeedRequestV1(RequestBody):
    companies: StrictInt = Field(ge=1, le=SEED_MAX)
    connections_per_company: StrictInt = Field(1, ge=0, le=len(INTEGRATION_NAMES))
    seed: StrictInt | None = Field(None, description="makes names and statuses reproducible")


def _share() -> Any:
    return Field(
        None,
        ge=0,
        le=1,
        allow_inf_nan=False,
        json_schema_extra=_left_out_or(),
    )


class StateShares(RequestBody):
    """The share of seeded companies in each connectionState, 0 to 1 each,
    adding up to at most 1 (the rest follows the sandbox's realistic mix)."""

    model_config = ConfigDict(alias_generator=None)

    ERROR: StrictFloat = _share()
    CONNECTED: StrictFloat = _share()
    PENDING: StrictFloat = _share()
    DISCONNECTED: StrictFloat = _share()
    NOT_CONNECTED: StrictFloat = _share()

    @model_validator(mode="after")
    def _at_most_one_in_all(self) -> StateShares:
        total = sum(self.shares().values())
        if total > 1 + 1e-9:
            raise PydanticCustomError(
                "shares_sum", f"must add up to at most 1 (they add up to {total:g})"
            )
        return self

    def shares(self) -> dict[str, float]:
        return {state: getattr(self, state) for state in self.model_fields_set}


assert set(StateShares.model_fields) == {str(s) for s in CompanyState}


class SeedRequest(SeedRequestV1):
    connections_per_company: StrictInt = Field(  # type: ignore[assignment]
        None,
        ge=0,
        le=len(INTEGRATION_NAMES),
        description="connections of each connected company (default 1); with it and no "
        "`states`, every company gets exactly that many",
        json_schema_extra=_left_out_or(),
    )
    seed: StrictInt | None = Field(
        None, description="the same seed gives the same names, states and timestamps (from now)"
    )
    states: StateShares | None = Field(
        None, description='shares of each connectionState, e.g. {"ERROR": 0.05}'
    )
