"""Shapes of the memberships and invitations endpoints. An invitation's token never appears here:
it exists only in the email (the database keeps its hash)."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from tenantry.api.schemas import ApiModel
from tenantry.orgs.settings import MAX_EXPIRY_DAYS, MIN_EXPIRY_DAYS


def plain_text(value: str, *, multiline: bool = False) -> str:
    """No control characters and nothing that isn't UTF-8 (PostgreSQL refuses NUL and lone
    surrogates; a 500 is never the answer to what a client sends)."""
    allowed = "\t\n\r" if multiline else ""
    if any((ord(ch) < 32 and ch not in allowed) or ord(ch) == 127 for ch in value):
        msg = "Remove the control characters."
        raise ValueError(msg)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        msg = "Not valid UTF-8 text."
        raise ValueError(msg) from None
    return value


def multiline_text(value: str) -> str:
    return plain_text(value, multiline=True)


def is_plain_text(value: str, max_length: int = 320) -> bool:
    try:
        plain_text(value)
    except ValueError:
        return False
    return 0 < len(value) <= max_length


UserRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=320),
    AfterValidator(plain_text),
    Field(description="A user's id or email address"),
]
RoleRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(plain_text),
    Field(description="A role's key (e.g. `admin`, `developer`) or id"),
]
GroupRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(plain_text),
    Field(description="A group's id or name"),
]
MembershipStatus = Literal["active", "inactive"]
InvitationStatus = Literal["pending", "accepted", "revoked", "replaced"]


class RoleOut(ApiModel):
    id: UUID
    key: str
    name: str


class GroupOut(ApiModel):
    id: UUID
    name: str


class MembershipOut(ApiModel):
    id: UUID = Field(description="The membership's id (paths under /members use it)")
    user_id: UUID
    email: str
    name: str
    status: str = Field(description="`active` or `inactive` (deactivated: roles and groups kept, no access)")
    roles: list[RoleOut] = Field(description="Roles held directly (not through groups)")
    groups: list[GroupOut]
    joined_at: datetime.datetime


class MembershipPage(ApiModel):
    items: list[MembershipOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class NewMembership(ApiModel):
    user: UserRef
    roles: list[RoleRef] | None = Field(
        default=None, max_length=100, description="Omitted or null: the org's default role for new members"
    )
    groups: list[GroupRef] = Field(default_factory=list, max_length=100)


class MembershipRoles(ApiModel):
    roles: list[RoleRef] = Field(max_length=100, description="The member's direct roles, exactly (keys or ids)")


class InvitationOut(ApiModel):
    id: UUID
    email: str
    status: str = Field(description="`pending`, `accepted`, `revoked` or `replaced` (an expired one sent again)")
    expired: bool = Field(description="Pending but past `expires_at`: the link no longer works; resend it")
    roles: list[RoleOut]
    groups: list[GroupOut]
    message: str
    invited_by: str = Field(description="The inviting person's name, or the API key's label")
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    expires_at: datetime.datetime
    accepted_at: datetime.datetime | None


class InvitationPage(ApiModel):
    items: list[InvitationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class NewInvitation(ApiModel):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320), AfterValidator(plain_text)]
    roles: list[RoleRef] | None = Field(
        default=None, max_length=100, description="Omitted or null: the org's default role for new members"
    )
    groups: list[GroupRef] = Field(default_factory=list, max_length=100)
    expiry_days: int | None = Field(
        default=None, ge=MIN_EXPIRY_DAYS, le=MAX_EXPIRY_DAYS, description="Omitted or null: the org's setting"
    )
    message: Annotated[str, StringConstraints(max_length=1000), AfterValidator(multiline_text)] = Field(
        default="", description="A personal note, quoted in the email"
    )
