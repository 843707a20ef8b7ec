"""The query parameters of the API's list operations, as pydantic models.

Read leniently: "2" is 2, the last of a repeated parameter wins, and
unknown parameters are ignored.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from s2b_tui.api.models import CompanyOrder
from s2b_tui.api.validation import PAGE_SIZE_MAX


class PageQuery(BaseModel):
    """The parameters of a list: which page, and how big."""

    page: int = Field(1, ge=1, description="1-based")
    page_size: int = Field(50, alias="pageSize", ge=1, le=PAGE_SIZE_MAX)


class CompanyQuery(PageQuery):
    search: str | None = Field(
        None,
        alias="query",
        max_length=200,
        description="case-insensitive substring of the name, or an id",
    )
    order_by: CompanyOrder = Field(CompanyOrder.CREATED_DESC, alias="orderBy")
