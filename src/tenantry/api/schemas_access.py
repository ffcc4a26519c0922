"""Shapes of the permission catalog, roles and groups in the API (see api/access.py, api/groups.py)."""

from __future__ import annotations

import datetime
import unicodedata
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from tenantry.access.schemas import Description, RoleKey, RoleName
from tenantry.api.schemas import ApiModel

GroupName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
PermissionKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
RoleRefText = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _refuse_unstorable(text: str) -> None:
    # What the portal's forms refuse (lib/forms.py), for the same reasons: PostgreSQL refuses NUL
    # and a lone surrogate can't be stored at all; a zero-width space looks empty but isn't.
    if any((ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127 for ch in text):
        raise PydanticCustomError("control_characters", "Remove the control characters from this field.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("invalid_unicode", "Send valid Unicode text (no lone surrogates).") from None
    if text and all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text):
        raise PydanticCustomError("invisible_text", "Send visible characters, or leave this field out.")


class TextInput(ApiModel):
    """A request body whose text ends up in the database."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                _refuse_unstorable(item)
        return value


class PatchInput(TextInput):
    """PATCH: a field left out stays as it is; a field sent as null is refused (say what you mean)."""

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null", "Leave this field out to keep it as it is; it can't be null.")
        return value


# --- the permission catalog ----------------------------------------------------------------------


class PermissionOut(ApiModel):
    key: str = Field(description="e.g. `members:invite` (Tenantry's own) or `reports:read` (your product's)")
    description: str
    heading: str = Field(description="The heading it is listed under in the portal's role form")
    built_in: bool = Field(description="true: one of Tenantry's own; false: declared by this deployment")


class PermissionList(ApiModel):
    items: list[PermissionOut]
    next_cursor: str | None = Field(default=None, description="Always null: the whole catalog fits in one page")


# --- roles ---------------------------------------------------------------------------------------


class RoleOut(ApiModel):
    id: UUID
    key: str = Field(description="Unique in the org, templates included; never changes")
    name: str
    description: str
    permissions: list[str] = Field(description="Permission keys, sorted")
    built_in: bool = Field(
        description="true: a template every org has (owner, admin, member and the deployment's own), "
        "which can't be changed or deleted; false: this org's own role"
    )
    member_count: int = Field(description="Active members holding it directly")
    group_count: int = Field(description="Groups giving it to their members")


class RoleList(ApiModel):
    items: list[RoleOut] = Field(description="Owner, Admin, Member, then the others by name")
    next_cursor: str | None = Field(default=None, description="Always null: an org's roles fit in one page")


class RoleCreate(TextInput):
    name: RoleName
    key: RoleKey | None = Field(
        default=None, description="Lowercase letters, digits, - and _; made from the name when left out"
    )
    description: Description = ""
    permissions: list[PermissionKey] = Field(default_factory=list, max_length=500)


# PATCH fields: optional, never null (their type says so to the OpenAPI document); None: not sent.


class RoleUpdate(PatchInput):
    name: RoleName = Field(default=None)
    description: Description = Field(default=None)
    permissions: list[PermissionKey] = Field(
        default=None, max_length=500, description="The role's whole set of permissions from now on"
    )


# --- groups --------------------------------------------------------------------------------------


class RoleRefOut(ApiModel):
    id: UUID
    key: str
    name: str


class GroupMemberOut(ApiModel):
    membership_id: UUID
    user_id: UUID
    name: str
    email: str
    status: str = Field(description="The membership's status: `active` or `deactivated`")


class GroupOut(ApiModel):
    id: UUID
    name: str
    description: str
    member_count: int
    roles: list[RoleRefOut] = Field(description="Roles every member holds through the group")
    created_at: datetime.datetime


class GroupDetail(GroupOut):
    members: list[GroupMemberOut] = Field(description="The first page of its members, by name")
    members_next_cursor: str | None = Field(
        description="More members: GET /api/v1/orgs/{org}/groups/{group_id}/members?cursor=..."
    )


class GroupList(ApiModel):
    items: list[GroupOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class GroupMemberList(ApiModel):
    items: list[GroupMemberOut]
    next_cursor: str | None


class GroupCreate(TextInput):
    name: GroupName
    description: Description = ""


class GroupUpdate(PatchInput):
    name: GroupName = Field(default=None)
    description: Description = Field(default=None)


class GroupMemberAdd(TextInput):
    member: Annotated[str, StringConstraints(min_length=1, max_length=320)] = Field(
        description="A membership id of this org, or the member's user id or email address"
    )


class GroupRolesSet(TextInput):
    roles: list[RoleRefText] = Field(
        max_length=100, description="Role keys or ids: the group's whole set of roles from now on ([] for none)"
    )
