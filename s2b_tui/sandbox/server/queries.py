"""The query parameters of the API's list operations, as pydantic models.

Read leniently: "2" is 2, the last of a repeated parameter wins, and
unknown parameters are ignored. A comma list (`state`, `status`, `type`)
names known values only, each once or more (repeats are folded); anything
else in it is refused by name.

A `…V1` model is the first revision's; its subclass adds the portfolio
revision's parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from s2b_tui.api.models import AuthorizationStatus, CompanyOrder, CompanyState, EventType
from s2b_tui.api.validation import PAGE_SIZE_MAX, has_control_characters
from s2b_tui.sandbox.store import EVENTS_PAGE_MAX

#: The largest `after`: sequences are SQLite integers (64-bit, signed).
SEQUENCE_MAX = 2**63 - 1
_TEXT_MAX = 200


def comma_list_pattern(values: Iterable[str]) -> str:
    """The JSON Schema pattern of a comma list of `values`."""
    one = "(" + "|".join(re.escape(v) for v in values) + ")"
    return f"^{one}(,{one})*$"


def comma_list(value: str | None, values: Iterable[str], what: str) -> str | None:
    """`value` with repeats folded, or a field error naming what is wrong."""
    if value is None:
        return None
    known = list(values)
    items = value.split(",")
    unknown = [item for item in dict.fromkeys(items) if item not in known]
    if unknown:
        shown = ", ".join(repr(item) for item in unknown[:3])
        raise PydanticCustomError(
            "comma_list",
            f"must be one or more of {', '.join(known)}, separated by commas "
            f"(unknown {what}: {shown})",
        )
    return ",".join(dict.fromkeys(items))


def items_of(value: str | None) -> tuple[str, ...]:
    return () if value is None else tuple(value.split(","))


def _no_controls(value: str | None) -> str | None:
    if value is not None and has_control_characters(value):
        raise PydanticCustomError("control_characters", "must not contain control characters")
    return value


def _text(description: str, **extra: Any) -> Any:
    """An optional text parameter of at most 200 characters."""
    return Field(None, max_length=_TEXT_MAX, description=description, **extra)


_STATES = [str(s) for s in CompanyState]
_STATUSES = [str(s) for s in AuthorizationStatus]
_TYPES = [str(t) for t in EventType]


class PageQuery(BaseModel):
    """The parameters of a list: which page, and how big."""

    page: int = Field(1, ge=1, description="1-based")
    page_size: int = Field(50, alias="pageSize", ge=1, le=PAGE_SIZE_MAX)


class CompanyQueryV1(PageQuery):
    search: str | None = _text("case-insensitive substring of the name, or an id", alias="query")
    order_by: Literal["name", "-name", "createdAt", "-createdAt"] = Field(
        "-createdAt", alias="orderBy"
    )

    _search_text = field_validator("search")(_no_controls)


class CompanyQuery(CompanyQueryV1):
    search: str | None = _text(
        "case-insensitive substring of the name, an exact id, or an id prefix of "
        "8 or more hex digits; with it, counts stop at 1,000 (`totalIsLowerBound`)",
        alias="query",
    )
    order_by: CompanyOrder = Field(CompanyOrder.CREATED_DESC, alias="orderBy")  # type: ignore[assignment]
    state: str | None = Field(
        None,
        description="comma list of connectionStates: only companies in those",
        json_schema_extra={"pattern": comma_list_pattern(_STATES)},
    )
    name: str | None = _text("exact name, ignoring case and surrounding spaces")

    _name_text = field_validator("name")(_no_controls)

    @field_validator("state")
    @classmethod
    def _known_states(cls, value: str | None) -> str | None:
        return comma_list(value, _STATES, "states")

    @property
    def states(self) -> tuple[str, ...]:
        return items_of(self.state)


class StatsQuery(BaseModel):
    search: str | None = _text("as in the list of companies", alias="query")

    _search_text = field_validator("search")(_no_controls)


class AuthorizationQuery(PageQuery):
    status: str | None = Field(
        None,
        description="comma list of statuses (PENDING: links sent and not yet used)",
        json_schema_extra={"pattern": comma_list_pattern(_STATUSES)},
    )
    company_id: str | None = _text("one company's only", alias="companyId")
    order_by: Literal["expiresAt", "-createdAt"] = Field("-createdAt", alias="orderBy")

    @field_validator("status")
    @classmethod
    def _known_statuses(cls, value: str | None) -> str | None:
        return comma_list(value, _STATUSES, "statuses")

    @property
    def statuses(self) -> tuple[str, ...]:
        return items_of(self.status)


class _EventTypes(BaseModel):
    type: str | None = Field(
        None,
        description="comma list of event types: only those",
        json_schema_extra={"pattern": comma_list_pattern(_TYPES)},
    )

    @field_validator("type")
    @classmethod
    def _known_types(cls, value: str | None) -> str | None:
        return comma_list(value, _TYPES, "types")

    @property
    def types(self) -> tuple[str, ...]:
        return items_of(self.type)


class EventQuery(_EventTypes):
    after: int | None = Field(
        None,
        ge=0,
        le=SEQUENCE_MAX,
        description="the events after this sequence, oldest first (without: the newest first)",
    )
    company_id: str | None = _text("one company's only", alias="companyId")
    page_size: int = Field(100, alias="pageSize", ge=1, le=EVENTS_PAGE_MAX)


class CompanyEventQuery(PageQuery, _EventTypes):
    pass
