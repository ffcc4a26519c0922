"""Organizations over the API: what a client sends and what it gets back."""

from __future__ import annotations

import datetime
import unicodedata
from typing import Annotated, Any
from uuid import UUID

from litestar.params import Parameter
from pydantic import AfterValidator, Field, StringConstraints

from tenantry.api.schemas import ApiModel
from tenantry.lib.forms import _has_control_characters
from tenantry.orgs.schemas import Slug

# `?limit=` of every list: 1 to 100, 50 unless asked.
PageSize = Annotated[int, Parameter(ge=1, le=100, description="Items per page (1–100)")]
CursorParam = Annotated[
    str | None, Parameter(max_length=1000, description="`next_cursor` of the previous page; absent: the first page")
]


def visible_text(value: str) -> str:
    """Names as the portal's forms take them: no control characters, not only invisible ones."""
    if _has_control_characters(value):
        msg = "Remove the invisible control characters from this field."
        raise ValueError(msg)
    if value and all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in value):
        msg = "Type visible characters."
        raise ValueError(msg)
    return value


OrgName = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(visible_text)]
UserRef = Annotated[str, StringConstraints(min_length=1, max_length=320)]
# Any JSON value is let through to metadata.rules, the one place that says what metadata may
# hold (and names the key it refuses); the schema tells clients what that is. anyOf, not the
# oneOf a `str | int | float | bool` would give: 5 is both an integer and a number.
METADATA_VALUES = {"additionalProperties": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}}
METADATA_TEXT = (
    "A flat object: keys `[a-z][a-z0-9_.-]{0,63}`, values a string, a number or true/false; at most 16 KB in all"
)
Metadata = Annotated[dict[str, Any], Field(json_schema_extra=METADATA_VALUES, description=METADATA_TEXT)]


class OrgOut(ApiModel):
    id: UUID
    name: str
    slug: str
    created_at: datetime.datetime
    plan: str = Field(description="The key of the org's plan in this deployment's plan catalog")
    member_count: int = Field(description="Active members")
    brand_color: str | None = Field(description="#rrggbb, or null: the portal's own colour")
    metadata: Metadata


class OrgList(ApiModel):
    items: list[OrgOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: this was the last")


class OrgCreate(ApiModel):
    name: OrgName
    slug: Slug | None = Field(default=None, description="The org's address; absent: made from the name")
    owner: UserRef = Field(
        description="The id or email of an existing user (with a confirmed address), who becomes the owner"
    )
    metadata: dict[str, Any] | None = Field(default=None, json_schema_extra=METADATA_VALUES, description=METADATA_TEXT)
    plan: str | None = Field(default=None, max_length=32, description="A plan key; absent: the default plan")


class OrgUpdate(ApiModel):
    """Only the fields given change; null or absent: unchanged."""

    name: OrgName | None = None
    slug: Slug | None = Field(default=None, description="A new address; the old one redirects in the portal")
    metadata: dict[str, Any] | None = Field(
        default=None,
        json_schema_extra=METADATA_VALUES,
        description=f"{METADATA_TEXT}. Replaces the whole object; {{}} clears it",
    )
    plan: str | None = Field(default=None, max_length=32, description="A plan key (app keys only)")
